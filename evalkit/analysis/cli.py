"""``evalkit analyze``: analyses of a finished run folder (token distribution shift, ...)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evalkit.console import cli_console

analyze_app = typer.Typer(
    no_args_is_help=True, help="Analyses of a finished run: how aligned answers differ from the base model's."
)
console = cli_console()


@analyze_app.command()
def shift(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `evalkit run`.")],
    base: Annotated[str, typer.Option(help="The base system: its model and template score the answers.")],
    aligned: Annotated[str, typer.Option(help="The aligned system whose answers are scored.")],
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not rebuild report.html.")] = False,
) -> None:
    """Token distribution shift: how often each aligned token is the base model's own choice."""
    from evalkit.analysis.shift import analyze_shift
    from evalkit.api import load_run, run_sync

    outcome = run_sync(analyze_shift(run_dir, base, aligned))
    console.print(
        f"shift {aligned} vs {base}: {outcome.answers} answers, {outcome.resumed} already scored, "
        f"{outcome.scored} scored ({outcome.tokens} tokens), {outcome.errors} errors ({outcome.seconds:.1f}s)"
    )
    run = load_run(run_dir)
    for row in [*run.shift(by="all"), *run.shift(by="split")]:
        if (row.base, row.aligned) != (base, aligned):
            continue
        shares = ", ".join(
            f"{name} {row.shares[name]:.1%} [{low:.1%}, {high:.1%}]"
            for name, (low, high) in row.share_ci.items()
        )
        console.print(f"  {row.group}: {row.tokens} tokens: {shares}")
    if not no_report:
        console.print(f"report: {run.report()}")
