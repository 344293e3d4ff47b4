"""The ``import``, ``export``, ``leaderboard`` and ``compare`` verbs, added to the CLI by ``register``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from evalkit.console import cli_console

FORMAT_HELP = "alpaca_eval, mt_bench, arena_hard or just_eval."


def import_command(
    format: Annotated[str, typer.Argument(help=f"The files' format: {FORMAT_HELP}")],
    paths: Annotated[list[Path], typer.Argument(help="Files, or folders searched for the format's files.")],
    to: Annotated[Path, typer.Option("--to", help="The run folder to create.")],
    baseline: Annotated[
        str | None, typer.Option(help="Baseline model where the files do not name it (Arena-Hard v0.1).")
    ] = None,
    judge: Annotated[str | None, typer.Option(help="Judge name where the files do not give it.")] = None,
) -> None:
    """Import a peer's outputs and verdicts as an evalkit run folder."""
    from evalkit.interop import import_run
    from evalkit.runner.rundir import RunDir

    path = import_run(format, paths, to, baseline=baseline, judge=judge)
    run_dir = RunDir(path, create=False)
    records = run_dir.load_records()
    console = cli_console()
    console.print(
        f"imported into {path}: {len(records.prompts)} prompts, {len(records.responses)} responses, "
        f"{len(records.judgments)} judgments, {len(records.grades)} grades"
    )
    for system, count in run_dir.read_meta().imported.get("conflicting_responses", {}).items():
        console.print(
            f"note: {count} answers of {system} differ between files; the first file's text "
            "(for AlpacaEval, the text the annotator judged) was kept"
        )


def export_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder.")],
    format: Annotated[str, typer.Argument(help=f"The format to write: {FORMAT_HELP}")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Folder to write (default RUN_DIR/export/FORMAT).")
    ] = None,
) -> None:
    """Export a run's records as a peer's files."""
    from evalkit.interop import export_run

    written = export_run(run_dir, format, output)
    cli_console().print(f"wrote {len(written)} files under {output or run_dir / 'export' / format}")


def leaderboard_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder.")],
    format: Annotated[
        str,
        typer.Option(
            "--format", help="alpaca_eval (AlpacaEval's columns) or style (style-controlled ratings)."
        ),
    ] = "alpaca_eval",
    source: Annotated[str | None, typer.Option(help="Only this verdict source.")] = None,
    details: Annotated[
        bool,
        typer.Option("--details", help="Also print the length-controlled fits (intervals, coefficients)."),
    ] = False,
    by: Annotated[str, typer.Option(help="Style ratings per: all, split or category.")] = "split",
) -> None:
    """Print a run's leaderboard with the columns a peer publishes."""
    from evalkit.interop.leaderboard_table import print_leaderboard

    print_leaderboard(run_dir, format, source, Console(width=200), details=details, by=by)


def compare_command(
    run_dirs: Annotated[list[Path], typer.Argument(help="Two or more run folders.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The run folder to create.")],
    baseline: Annotated[str | None, typer.Option(help="Shared baseline (default: the first run's).")] = None,
) -> None:
    """Join runs into one comparison over the prompts every system answered, with its report."""
    from evalkit.interop.compare import compare_runs
    from evalkit.runner.rundir import RunDir

    path = compare_runs(run_dirs, output, baseline=baseline)
    meta = RunDir(path, create=False).read_meta()
    console = cli_console()
    console.print(f"compared {len(run_dirs)} runs into {path}: {meta.prompt_set}", soft_wrap=True)
    console.print(f"report: {path / 'report.html'}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the interop verbs to the CLI app."""
    app.command("import")(import_command)
    app.command("export")(export_command)
    app.command("leaderboard")(leaderboard_command)
    app.command("compare")(compare_command)
