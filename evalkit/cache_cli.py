"""``evalkit cache``: what the response cache holds, per model, and clearing it after a confirmation.

Showing never writes: the file is opened read-only, and a missing cache is reported, not
created. Clearing asks first; without a terminal to ask on, it needs ``--yes``.
"""

from __future__ import annotations

import math
import sqlite3
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from evalkit.cache import ResponseCache
from evalkit.console import cli_console
from evalkit.errors import ConfigError

UNKNOWN_MODEL = "(model id not reported)"
PER_MODEL_SQL = """
SELECT COALESCE(NULLIF(json_extract(value, '$.model_id'), ''), ?) AS model,
       COUNT(*), SUM(LENGTH(key) + LENGTH(value))
FROM completions GROUP BY model ORDER BY COUNT(*) DESC, model
"""


@dataclass(frozen=True, slots=True)
class ModelEntries:
    """Cached completions of one model (as the provider reported its id)."""

    model: str
    entries: int
    stored_bytes: int


@dataclass(frozen=True, slots=True)
class CacheSummary:
    """What one cache file holds."""

    path: Path
    file_bytes: int
    models: tuple[ModelEntries, ...]

    @property
    def entries(self) -> int:
        """Cached completions in all."""
        return sum(m.entries for m in self.models)


def summarize_cache(path: Path) -> CacheSummary:
    """Count a cache's entries per model without writing anything (the file must exist).

    Raises:
        ConfigError: The file is not a readable evalkit cache.

    """
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            rows = db.execute(PER_MODEL_SQL, (UNKNOWN_MODEL,)).fetchall()
    except sqlite3.Error as exc:
        raise ConfigError(
            f"the cache file {path} is damaged or not an evalkit cache ({exc}). Delete it (deleting "
            "the cache never changes results, it only makes the calls again), or use --path for another"
        ) from exc
    size = sum(p.stat().st_size for p in (path, *_sidecars(path)) if p.exists())
    return CacheSummary(path, size, tuple(ModelEntries(m, int(n), int(b or 0)) for m, n, b in rows))


def _sidecars(path: Path) -> tuple[Path, Path]:
    """SQLite's write-ahead log and shared-memory files next to a database in WAL mode."""
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


def human_bytes(size: int) -> str:
    """A byte count as people read it ("1.5 MB")."""
    if size < 1000:
        return f"{size} B"
    power = min(int(math.log10(size)) // 3, 3)
    return f"{size / 1000**power:.1f} {('kB', 'MB', 'GB')[power - 1]}"


def summary_table(summary: CacheSummary) -> Table:
    """One row per model: entries and the bytes they take."""
    table = Table()
    table.add_column("model")
    table.add_column("entries", justify="right")
    table.add_column("size", justify="right")
    for row in summary.models:
        table.add_row(escape(row.model), str(row.entries), human_bytes(row.stored_bytes))
    return table


def show_or_clear(console: Console, path: Path, *, clear: bool, yes: bool) -> None:
    """The body of ``evalkit cache``.

    Raises:
        typer.Exit: Code 2 when clearing needs a confirmation no one can give (no terminal,
            no ``--yes``); code 1 when the person answered no.

    """
    if not path.exists():
        console.print(f"no cache at {escape(str(path))} (nothing cached yet; a run creates it)")
        return
    summary = summarize_cache(path)
    if not clear:
        size = human_bytes(summary.file_bytes)
        console.print(f"{escape(str(path))}: {summary.entries} cached completions, {size}", soft_wrap=True)
        console.print(summary_table(summary))
        return
    if not yes:
        _confirm(summary)
    store = ResponseCache(path)
    try:
        removed = store.clear()
    finally:
        store.close()
    console.print(f"removed {removed} entries from {escape(str(path))}")


def interactive() -> bool:
    """True when a person can answer a question on standard input."""
    return sys.stdin.isatty()


def _confirm(summary: CacheSummary) -> None:
    """Ask before clearing; without a terminal to ask on, refuse (exit 2), since --yes was not given."""
    errors = cli_console(stderr=True)
    if not interactive():
        errors.print(
            f"refusing to clear {summary.path} ({summary.entries} entries) without confirmation: "
            "re-run with --yes",
            soft_wrap=True,  # one line, so the path and the flag stay whole
        )
        raise typer.Exit(code=2)
    if not typer.confirm(f"Delete all {summary.entries} entries of {summary.path}?", default=False):
        errors.print("nothing removed")
        raise typer.Exit(code=1)
