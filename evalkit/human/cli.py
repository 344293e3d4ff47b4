"""``evalkit label``: serve the labeling app, add annotators, export and import crowd sheets."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

import typer

from evalkit.console import cli_console
from evalkit.errors import ConfigError, MissingDependencyError

label_app = typer.Typer(
    no_args_is_help=True, help="Human labels: a blind labeling app, live dialogues and crowd sheets."
)
console = cli_console()

RunArg = Annotated[Path, typer.Argument(help="A run folder written by `evalkit run`.")]
CampaignArg = Annotated[
    Path | None, typer.Argument(help="Campaign YAML (default: pairwise over every item).")
]


def _link(host: str, port: int, token: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/start?token={token}"


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@label_app.command()
def serve(
    run_dir: RunArg,
    campaign: CampaignArg = None,
    host: Annotated[
        str, typer.Option(help="Address to bind; other machines can connect only if you change it.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8321,
    fsync: Annotated[
        bool,
        typer.Option("--fsync", help="Flush every answer to disk: survives a power cut, not only a kill."),
    ] = False,
) -> None:
    """Serve the blind labeling app for a run; prints each new annotator's link and the admin link."""
    try:
        import uvicorn

        from evalkit.human.app import create_app
    except ImportError as exc:
        raise MissingDependencyError(exc.name or "starlette", "label", "The labeling app") from exc
    from evalkit.human.campaign import load_campaign
    from evalkit.human.store import ADMIN, LabelStore

    plan = load_campaign(campaign)
    app = create_app(
        run_dir, plan, fsync=fsync
    )  # validates the run and the campaign before anything is printed
    store = LabelStore(run_dir)
    known = set(store.annotators())
    for name in plan.annotators:
        if name not in known:
            console.print(f"annotator {name}: {_link(host, port, store.add_person(name))}", soft_wrap=True)
    admin_token = store.add_person(ADMIN, "admin", reset=True)  # a fresh admin link at every start
    store.close()
    console.print(
        f"admin (this link changes at every start): {_link(host, port, admin_token)}", soft_wrap=True
    )
    if known:
        console.print(f"existing annotators keep their links: {', '.join(sorted(known))}")
    if not _is_loopback(host):
        console.print(
            f"[yellow]warning:[/] listening on {host}: anyone who can reach it and holds a link can label"
        )
    # No access log: sign-in links carry tokens in their query string.
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")


@label_app.command("add-annotator")
def add_annotator(
    run_dir: RunArg,
    name: Annotated[str, typer.Argument(help="Annotator name (becomes source 'human:<name>').")],
    reset: Annotated[bool, typer.Option("--reset", help="Give an existing annotator a new link.")] = False,
    host: Annotated[str, typer.Option(help="Host the printed link points to.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port the printed link points to.")] = 8321,
) -> None:
    """Create an annotator and print their personal secret link (shown once, stored only hashed)."""
    from evalkit.human.store import LabelStore
    from evalkit.runner.rundir import RunDir

    RunDir(run_dir, create=False)
    store = LabelStore(run_dir)
    try:
        token = store.add_person(name, reset=reset)
    finally:
        store.close()
    console.print(f"annotator {name}: {_link(host, port, token)}", soft_wrap=True)


@label_app.command("export")
def export_sheet(
    run_dir: RunArg,
    output: Annotated[
        Path, typer.Argument(help="Sheet to write: .csv, .jsonl, or .json (Label Studio tasks).")
    ],
    campaign: Annotated[Path | None, typer.Option(help="Campaign YAML choosing the items.")] = None,
) -> None:
    """Write the campaign's items as a blinded sheet for a crowd platform."""
    from evalkit.human.campaign import load_campaign
    from evalkit.human.sheets import export_items

    count = export_items(run_dir, load_campaign(campaign), output)
    console.print(f"wrote {count} rows to {output}")


@label_app.command("import")
def import_sheet(
    run_dir: RunArg,
    sheet: Annotated[
        Path, typer.Argument(help="A filled sheet (.csv, .jsonl, or Label Studio export .json).")
    ],
    campaign: Annotated[Path | None, typer.Option(help="The campaign the sheet was exported with.")] = None,
) -> None:
    """Store the labels of a filled sheet; a sheet with any bad row stores nothing."""
    from evalkit.human.campaign import load_campaign
    from evalkit.human.sheet_import import import_labels

    if not sheet.is_file():
        raise ConfigError(f"sheet {sheet} does not exist; pass the filled sheet's path")
    count = import_labels(run_dir, load_campaign(campaign), sheet)
    console.print(f"stored {count} labels from {sheet}")
