"""Print a run's leaderboard with a peer's published columns."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from evalkit.errors import ConfigError
from evalkit.interop.alpaca_eval_export import leaderboard_csv
from evalkit.interop.bundle import load_records
from evalkit.interop.leaderboard import alpaca_eval_leaderboard, published_modes

LEADERBOARD_FORMATS = ("alpaca_eval",)


def print_leaderboard(run_dir: Path, format: str, source: str | None, console: Console) -> None:
    """Print AlpacaEval's leaderboard CSV for each verdict source of the run.

    With several sources, each CSV is preceded by a ``# source: ...`` line; pass ``source``
    to get one plain CSV.

    Raises:
        ConfigError: Unknown format, or no pairwise verdicts (of that source).

    """
    if format not in LEADERBOARD_FORMATS:
        raise ConfigError(
            f"unknown leaderboard format {format!r}; use one of: {', '.join(LEADERBOARD_FORMATS)}"
        )
    records, meta = load_records(run_dir)
    rows = alpaca_eval_leaderboard(records, source=source)
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
