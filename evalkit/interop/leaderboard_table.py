"""Print a run's leaderboard with a peer's published columns, and the length-control details."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from evalkit.errors import ConfigError
from evalkit.interop.alpaca_eval_export import leaderboard_csv
from evalkit.interop.bundle import load_records
from evalkit.interop.leaderboard import alpaca_eval_leaderboard, length_control, published_modes
from evalkit.runner.meta import RunRecords
from evalkit.stats.alpaca_lc import LengthControlled
from evalkit.stats.common import GroupBy
from evalkit.stats.panels import run_verdicts
from evalkit.stats.style import IntervalMethod, style_controlled_ratings

LEADERBOARD_FORMATS = ("alpaca_eval", "style")
GROUPINGS: dict[str, GroupBy] = {"all": "all", "split": "split", "category": "category"}


def print_leaderboard(
    run_dir: Path,
    format: str,
    source: str | None,
    console: Console,
    *,
    details: bool = False,
    by: str = "split",
) -> None:
    """Print AlpacaEval's leaderboard CSV per verdict source, or style-controlled ratings.

    ``format="style"`` prints style-controlled Bradley–Terry ratings per source and group
    (``by``: "all", "split" or "category"; sandwich intervals, a bootstrap with ``details``).
    For AlpacaEval, with several sources each CSV is preceded by a ``# source: ...`` line
    (pass ``source`` for one plain CSV), extreme length corrections are flagged on stderr,
    and ``details`` adds a table of the length-controlled fits (interval, coefficients,
    difficulty used).

    Raises:
        ConfigError: Unknown format, or no pairwise verdicts (of that source).

    """
    if format not in LEADERBOARD_FORMATS:
        known = ", ".join(LEADERBOARD_FORMATS)
        raise ConfigError(f"unknown leaderboard format {format!r}; use one of: {known}")
    records, meta = load_records(run_dir)
    if format == "style":
        if by not in GROUPINGS:
            raise ConfigError(f"unknown grouping {by!r}; use one of: {', '.join(GROUPINGS)}")
        print_style(records, source, console, method="bootstrap" if details else "sandwich", by=by)
        return
    controlled = length_control(records, source=source)
    rows = alpaca_eval_leaderboard(records, source=source, controlled=controlled)
    if not rows:
        wanted = f" of source {source!r}" if source else ""
        raise ConfigError(f"{run_dir} holds no pairwise verdicts{wanted}; nothing to rank")
    sources = list(dict.fromkeys(r.source for r in rows))
    modes = published_modes(meta, rows)
    for name in sources:
        if len(sources) > 1:
            console.print(f"# source: {name}", highlight=False, markup=False)
        text = leaderboard_csv([r for r in rows if r.source == name], modes)
        console.print(text, end="", highlight=False, markup=False, soft_wrap=True)
    warn_extreme(controlled, Console(stderr=True))
    if details:
        console.print(details_table(controlled))


def warn_extreme(controlled: Sequence[LengthControlled], console: Console) -> None:
    """One warning line per extreme length correction."""
    for lc in controlled:
        if lc.extreme:
            console.print(
                f"warning: {lc.model} ({lc.source}): length control moves {lc.raw_win_rate:.1f} to "
                f"{lc.win_rate:.1f}; an extreme correction that rests on extrapolating the length model",
                highlight=False,
                markup=False,
            )


def details_table(controlled: Sequence[LengthControlled]) -> Table:
    """The length-controlled fits: rate, interval, AlpacaEval's standard error, coefficients."""
    table = Table(
        title="Length-controlled win rate (AlpacaEval's model; 95% CI by the delta method, sandwich)"
    )
    for column in ("model", "source", "LC", "95% CI", "lc SE", "raw", "intercept", "length", "difficulty"):
        table.add_column(column)
    table.add_column("difficulty from")
    table.add_column("flag")
    for lc in controlled:
        c = lc.coefficients
        table.add_row(
            lc.model,
            lc.source,
            f"{lc.win_rate:.2f}",
            f"{lc.ci_low:.2f}-{lc.ci_high:.2f}",
            f"{lc.standard_error:.3f}",
            f"{lc.raw_win_rate:.2f}",
            *(f"{c.get(k, 0.0):+.3f}" for k in ("intercept", "length", "difficulty")),
            lc.difficulty,
            "EXTREME" if lc.extreme else "",
        )
    return table


def print_style(
    records: RunRecords, source: str | None, console: Console, *, method: IntervalMethod, by: str = "split"
) -> None:
    """Style-controlled Bradley–Terry ratings and coefficients, per source and group."""
    sources = records.meta.probability_sources()
    verdicts = [
        v for v in run_verdicts(records.judgments, probability_sources=sources) if source in (None, v.source)
    ]
    prompts = {p.id: p for p in records.prompts}
    results = style_controlled_ratings(verdicts, records.responses, prompts, by=GROUPINGS[by], method=method)
    if not results:
        raise ConfigError("no pairwise verdicts between two or more systems; nothing to rank")
    for result in results:
        title = (
            f"Style-controlled ratings: {result.source}, {by} {result.group} ({result.method} 95% intervals)"
        )
        table = Table(title=title)
        for column in ("rank", "rank (UB)", "system", "score", "95% CI", "comparisons"):
            table.add_column(column)
        for r in result.ratings:
            ci = f"{r.ci_low:.0f}-{r.ci_high:.0f}"
            table.add_row(
                str(r.rank), str(r.rank_upper), r.system, f"{r.score:.0f}", ci, str(r.n_comparisons)
            )
        console.print(table)
        effects = Table(title="Style coefficients (per standard deviation of the normalized difference)")
        for column in ("feature", "logit", "rating points", "95% CI (points)"):
            effects.add_column(column)
        for c in result.coefficients:
            effects.add_row(
                c.feature, f"{c.coefficient:+.3f}", f"{c.points:+.1f}", f"{c.ci_low:+.1f} to {c.ci_high:+.1f}"
            )
        console.print(effects)
