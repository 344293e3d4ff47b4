"""The ``evalkit`` command: one sub-command per verb. User errors print one message, no traceback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import click
import typer
from rich.console import Console
from rich.markup import escape

from evalkit.errors import EvalkitError
from evalkit.generators.registry import provider_table
from evalkit.runner.config import load_config

if TYPE_CHECKING:
    from evalkit.runner.pipeline import Pipeline

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Compare language models: generate, judge, and report win rates with honest uncertainty.",
)
console = Console()
errors = Console(stderr=True)


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="Run config (YAML).")],
    limit: Annotated[int | None, typer.Option(help="Use only the first N prompts.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for sampling and bootstrap intervals.")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Requests in flight per backend.")] = None,
    name: Annotated[str | None, typer.Option(help="Run name (folder under the output dir).")] = None,
    output_dir: Annotated[str | None, typer.Option(help="Folder for run folders (default: reports).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ignore and do not fill the cache.")] = False,
    no_report: Annotated[bool, typer.Option("--no-report", help="Skip writing report.html.")] = False,
    max_cost: Annotated[
        float | None, typer.Option(help="Stop starting new calls once the estimated cost (USD) passes this.")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print the calls the run would make (after the cache) and their cost."
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Run (or resume) the experiment a config describes, then write its report."""
    from evalkit.api import load_run, run_sync  # heavy imports only for the verbs that need them
    from evalkit.runner.pipeline import Pipeline

    overrides = {
        "limit": limit,
        "seed": seed,
        "concurrency": concurrency,
        "name": name,
        "output_dir": output_dir,
        "max_cost": max_cost,
    }
    resolved = load_config(config, overrides)
    pipeline = Pipeline(resolved, use_cache=not no_cache, show_progress=not quiet)
    if dry_run:
        _print_plan(pipeline)
        return
    run_dir = run_sync(pipeline.execute())
    for result in pipeline.results:
        console.print(
            f"{result.name:<9} {result.total} items: {result.resumed} already done, {result.new} new, "
            f"{result.extra.get('cache_hits', 0)} cache hits, {result.errors} errors ({result.seconds:.1f}s)"
        )
    console.print(f"model calls: {pipeline.backends.calls}")
    local_judges = sorted({j.model for j in resolved.judges if j.model.startswith(("local/", "gguf/"))})
    if local_judges:
        console.print(
            f"note: the judge {', '.join(local_judges)} is a small local base model: its verdicts are "
            "close to chance and position-biased (see the report's judge diagnostics). "
            "Use an API judge or human labels for conclusions."
        )
    if not no_report:
        path = load_run(run_dir.path).report()
        console.print(f"report: {path}")


def _print_plan(pipeline: Pipeline) -> None:
    from evalkit.runner.plan import Planner

    planner = Planner(pipeline)
    for stage in planner.plan():
        console.print(
            f"{stage.name:<9} {stage.items} items: {stage.already_done} already done, "
            f"{stage.cached} answered by the cache, {stage.calls} model calls"
        )
    summary = planner.meter.summary()
    console.print(
        f"estimated cost: ${summary['total_usd']:.4f} (outputs counted at max_tokens; re-asks not counted)"
    )
    if summary["unpriced_models"]:
        console.print(f"no price known for: {', '.join(summary['unpriced_models'])} (not in the estimate)")


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `evalkit run`.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Where to write the HTML.")] = None,
) -> None:
    """Rebuild a run's HTML report from its records."""
    from evalkit.api import load_run

    path = load_run(run_dir).report(output)
    console.print(f"report: {path}")


@app.command()
def models() -> None:
    """List model providers (built-in and installed plug-ins)."""
    for prefix, target in sorted(provider_table().items()):
        console.print(f"{prefix + '/...':<22} {target}")


@app.command()
def judges() -> None:
    """List the judge definitions found in judges/."""
    from evalkit.judging import list_judges

    for spec in list_judges():
        console.print(f"{spec.name:<24} v{spec.version:<6} {spec.kind:<9} {spec.description}")


@app.command()
def cache(
    path: Annotated[Path, typer.Option(help="Cache file.")] = Path("reports/.cache/evalkit.sqlite"),
    clear: Annotated[bool, typer.Option("--clear", help="Delete every entry.")] = False,
) -> None:
    """Show (or clear) the response cache. Clearing never changes results, only costs calls."""
    from evalkit.cache import ResponseCache

    store = ResponseCache(path)
    if clear:
        console.print(f"removed {store.clear()} entries from {path}")
    else:
        console.print(f"{path}: {len(store)} cached completions")
    store.close()


@app.command()
def doctor() -> None:
    """Check the installation: extras, the packaged model, a live probe of each local backend, browsers."""
    from evalkit.doctor import run_doctor

    run_doctor(console)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app and turn user errors into one message and a non-zero exit."""
    try:
        app(args=argv, standalone_mode=False)
    except EvalkitError as exc:
        errors.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return 2
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (KeyboardInterrupt, click.exceptions.Abort):
        errors.print("interrupted: finished work is saved; run the same command again to resume")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
