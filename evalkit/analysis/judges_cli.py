"""``evalkit judges``: list judge definitions; ``evalkit judges compare RUN_DIR``: which judge to trust."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from evalkit.console import cli_console

judges_app = typer.Typer(
    invoke_without_command=True,
    help="List the judge definitions found in judges/, or compare a run's judges.",
)
console = cli_console()


@judges_app.callback()
def judges(ctx: typer.Context) -> None:
    """List the judge definitions found in judges/ (or see `compare`)."""
    if ctx.invoked_subcommand is not None:
        return
    from evalkit.judging import list_judges

    for spec in list_judges():
        console.print(f"{spec.name:<24} v{spec.version:<6} {spec.kind:<9} {spec.description}")


@judges_app.command()
def compare(run_dir: Annotated[Path, typer.Argument(help="A run folder written by `evalkit run`.")]) -> None:
    """Every pairwise judge of a run side by side, sorted by agreement with human labels when present."""
    from evalkit.analysis.judges import compare_run_judges
    from evalkit.api import load_run
    from evalkit.report.formatting import ci, num, pct

    run = load_run(run_dir)
    rows = compare_run_judges(run.records, run.meta, seed=run.seed)
    if not rows:
        console.print(f"{run_dir}: no pairwise judgments to compare")
        return
    table = Table("judge", "parsed", "order-consistent", "first wins", "ties", "longer wins", "list wins",
                  "human TDA [95% CI]", "kappa", "repeat disagree", "$/1k", "s/1k")  # fmt: skip
    for row in rows:
        d, human = row.diagnostics, row.human
        table.add_row(
            row.source + (" (self-preference?)" if row.self_preference else ""),
            pct(row.parse_rate), pct(row.order_consistency), pct(d.first_position_preference),
            pct(d.tie_rate), pct(d.longer_wins_rate), pct(row.list_wins_rate),
            f"{pct(human.tie_discounted_accuracy)} {ci(*human.accuracy_ci)}" if human else "—",
            num(human.cohens_kappa) if human else "—",
            pct(row.repeat_disagreement) if row.repeated_items else "—",
            num(row.usd_per_1000, 4) if row.usd_per_1000 is not None else "—",
            num(row.seconds_per_1000, 1) if row.seconds_per_1000 is not None else "—",
        )  # fmt: skip
    console.print(table)
