"""The ``evalkit`` command: one sub-command per verb. User errors print one message, no traceback."""

from __future__ import annotations

import errno
import sys
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from evalkit.analysis.cli import analyze_app
from evalkit.analysis.judges_cli import judges_app
from evalkit.console import cli_console
from evalkit.errors import BatchesPendingError, EvalkitError
from evalkit.human.cli import label_app
from evalkit.interop.commands import register as register_interop
from evalkit.runner.config import load_config

if TYPE_CHECKING:
    from evalkit.runner.meta import RunMeta

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Compare language models: generate, judge, and report win rates with honest uncertainty.",
)
console = cli_console()
errors = cli_console(stderr=True)
app.add_typer(label_app, name="label")


def _print_version(value: bool) -> None:
    if value:
        from evalkit import __version__

        console.print(f"evalkit {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Compare language models: generate, judge, and report win rates with honest uncertainty."""


app.add_typer(analyze_app, name="analyze")
app.add_typer(judges_app, name="judges")


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
    batch: Annotated[
        bool, typer.Option("--batch", help="Send API models' calls through provider batch jobs (half price).")
    ] = False,
    detach: Annotated[
        bool, typer.Option("--detach", help="Submit batches and exit; run again to collect them.")
    ] = False,
    ray: Annotated[
        str | None,
        typer.Option(help="Run local engines on this Ray cluster (auto, HOST:PORT, ray://..., local)."),
    ] = None,
) -> None:
    """Run (or resume) the experiment a config describes, then write its report."""
    from evalkit.api import run_async, run_sync  # heavy imports only for the verbs that need them

    overrides = {
        "limit": limit,
        "seed": seed,
        "concurrency": concurrency,
        "name": name,
        "output_dir": output_dir,
        "max_cost": max_cost,
        "batch": batch or None,
    }
    resolved = load_config(config, overrides)
    if ray is not None:
        executor = resolved.executor.model_copy(update={"kind": "ray", "address": ray})
        resolved = resolved.model_copy(update={"executor": executor})
    if dry_run:
        from evalkit.runner.plan_report import plan_run, print_plan

        print_plan(console, plan_run(resolved, use_cache=not no_cache))
        return
    try:
        loaded = run_sync(
            run_async(
                resolved, use_cache=not no_cache, progress=not quiet, report=not no_report, detach=detach
            )
        )
    except BatchesPendingError as exc:
        console.print(f"batches: {escape(str(exc))}")
        return
    _print_execution(loaded.meta)
    local_judges = sorted({j.model for j in loaded.meta.judges if j.demonstration_only and j.model})
    if local_judges:
        console.print(
            f"note: the judge {', '.join(local_judges)} only demonstrates the pipeline (a small base model "
            "or a script): its verdicts are "
            "close to chance and position-biased (see the report's judge diagnostics). "
            "Use an API judge or human labels for conclusions."
        )
    if not no_report:
        console.print(f"report: {loaded.path / 'report.html'}")


def _print_execution(meta: RunMeta) -> None:
    """What the latest execution did: what changed, then one line per stage."""
    if not meta.executions:
        return
    execution = meta.executions[-1]
    for change in execution.changes:
        console.print(f"changed: {escape(change)}")
    for stage in execution.stages:
        if not stage.total and not stage.superseded:
            continue
        redone = f", {stage.superseded} stale records set aside and redone" if stage.superseded else ""
        console.print(
            f"{stage.name:<9} {stage.total} items: {stage.resumed} already done, {stage.new} new{redone}, "
            f"{stage.extra.get('cache_hits', 0)} cache hits, {stage.errors} errors ({stage.seconds:.1f}s)"
        )
    console.print(f"model calls: {sum(c.calls for c in execution.calls.values())}")
    for spec, counts in sorted(execution.calls.items()):
        if counts.warnings:
            found = ", ".join(f"{n} {warning}" for warning, n in sorted(counts.warnings.items()))
            console.print(f"warnings from {spec}: {found}")


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
def batches(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `evalkit run --batch`.")],
) -> None:
    """Show each provider batch of a run: state, counts and estimated cost."""
    from evalkit.batch.status import batch_rows, summary_line

    rows = batch_rows(run_dir)
    for row in rows:
        console.print(
            f"{row.file}  {row.model}  {row.batch_id}  {row.state}  {row.requests} requests  "
            f"[{row.counts}]  ~${row.estimate_usd:.4f}",
            highlight=False,
        )
    console.print(summary_line(rows))


@app.command()
def models() -> None:
    """List model providers: the spec to write, the extra to install, and whether it is installed."""
    from evalkit.generators.provider_help import providers_table

    console.print(providers_table())


@app.command()
def cache(
    path: Annotated[Path, typer.Option(help="Cache file.")] = Path("reports/.cache/evalkit.sqlite"),
    clear: Annotated[bool, typer.Option("--clear", help="Delete every entry (asks first).")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Clear without asking.")] = False,
) -> None:
    """Show the response cache per model (or clear it). Clearing never changes results, only costs calls."""
    from evalkit.cache_cli import show_or_clear

    show_or_clear(console, path, clear=clear, yes=yes)


def _exception_classes(name: str) -> tuple[type[BaseException], ...]:
    """The click exception class ``name`` from every click that may parse our arguments.

    typer ships its own copy of click in recent versions and uses plain click in older
    ones; usage errors and aborts come from whichever it uses, so both are caught.
    """
    found: list[type[BaseException]] = []
    for module_name in ("typer._click.exceptions", "click.exceptions", "typer.exceptions"):
        try:
            module = import_module(module_name)
        except ImportError:
            continue
        candidate = getattr(module, name, None)
        if isinstance(candidate, type) and issubclass(candidate, BaseException):
            found.append(candidate)
    return tuple(dict.fromkeys(found))


USAGE_ERRORS: tuple[type[BaseException], ...] = _exception_classes("ClickException")
ABORTS: tuple[type[BaseException], ...] = (KeyboardInterrupt, *_exception_classes("Abort"))
INTERRUPTED = 130
"""Exit status of a process stopped by Ctrl-C (128 + SIGINT), as shells report it."""


def _user_error(message: str) -> int:
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return 2


def _interrupted() -> int:
    errors.print("interrupted: finished work is saved; run the same command again to resume")
    return INTERRUPTED


def _os_error(exc: OSError) -> int:
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno == errno.ENOSPC:
        return _user_error(
            f"the disk is full{where}: records written so far are kept; free some space, "
            "then run the same command again to resume"
        )
    return _user_error(f"{exc.strerror or exc}{where}; check the path and its permissions, then retry")


register_interop(app)  # import, export, leaderboard, compare


@app.command()
def doctor() -> None:
    """Check the installation: extras, the packaged model, a live probe of each local backend, browsers."""
    from evalkit.doctor import run_doctor

    run_doctor(console)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app and turn user errors into one message and a non-zero exit."""
    try:
        code = app(args=argv, standalone_mode=False)
    except EvalkitError as exc:
        return _user_error(str(exc))
    except USAGE_ERRORS as exc:
        exc.show()  # type: ignore[attr-defined]
        return int(getattr(exc, "exit_code", 2))
    except ABORTS:
        return _interrupted()
    except OSError as exc:
        return _os_error(exc)
    except UnicodeError as exc:
        return _user_error(f"text that is not valid Unicode could not be written ({exc}); fix the input")
    if code == INTERRUPTED:  # typer turns Ctrl-C into this exit status without a word
        return _interrupted()
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
