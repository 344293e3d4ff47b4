"""Import the peers' files (AlpacaEval, MT-Bench, Arena-Hard, just-eval) as runs, and export runs as theirs.

An import writes an ordinary run folder: prompts and responses from the outputs files,
verdicts as Judgment / Grade records with ``source="import:<judge>"`` and the judge named in
their provenance, and a run.json whose config lists the systems, the verdict sources and the
baseline. Every statistic, ``evalkit report`` and ``evalkit leaderboard`` then work on it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from evalkit.errors import ConfigError
from evalkit.interop import (
    alpaca_eval,
    alpaca_eval_export,
    arena_hard,
    arena_hard_export,
    just_eval,
    mt_bench,
    mt_bench_export,
)
from evalkit.interop.bundle import Imported, load_records, write_run
from evalkit.interop.leaderboard import alpaca_eval_leaderboard, published_modes
from evalkit.runner.meta import RunMeta, RunRecords

Reader = Callable[[Sequence[Path], Imported], None]
Writer = Callable[[RunRecords, RunMeta, Path], list[Path]]

FOLDER_PATTERNS: dict[str, tuple[str, ...]] = {
    "alpaca_eval": ("model_outputs.json", "annotations.json", "*leaderboard*.csv"),
    "mt_bench": ("*.jsonl",),
    "arena_hard": ("*.jsonl",),
    "just_eval": ("*.json",),
}
"""Files a folder given to an import contributes (searched recursively); named files always count."""


def _export_alpaca_eval(records: RunRecords, meta: RunMeta, out: Path) -> list[Path]:
    rows = alpaca_eval_leaderboard(records)
    return alpaca_eval_export.write(records, rows, out, published_modes(meta, rows))


READERS: dict[str, Reader] = {
    "alpaca_eval": alpaca_eval.read,
    "mt_bench": mt_bench.read,
    "arena_hard": arena_hard.read,
    "just_eval": just_eval.read,
}
WRITERS: dict[str, Writer] = {
    "alpaca_eval": _export_alpaca_eval,
    "mt_bench": mt_bench_export.write,
    "arena_hard": arena_hard_export.write,
    "just_eval": just_eval.write,
}


def _check_format(format: str) -> None:
    if format not in READERS:
        raise ConfigError(f"unknown format {format!r}; use one of: {', '.join(READERS)}")


def expand_paths(format: str, paths: Sequence[str | Path]) -> list[Path]:
    """Files named, plus the format's files under folders named (``FOLDER_PATTERNS``, sorted)."""
    found: list[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            matches = {p for pattern in FOLDER_PATTERNS[format] for p in given.rglob(pattern) if p.is_file()}
            found += sorted(matches)
        elif given.exists():
            found.append(given)
        else:
            raise ConfigError(f"{given}: file not found; check the path")
    return found


def import_run(
    format: str,
    paths: Sequence[str | Path],
    to: str | Path,
    *,
    baseline: str | None = None,
    judge: str | None = None,
    origin: str = "",
) -> Path:
    """Import a peer's files into a new run folder.

    Args:
        format: "alpaca_eval", "mt_bench", "arena_hard" or "just_eval".
        paths: Files, or folders searched for the format's files (``FOLDER_PATTERNS``).
        to: The run folder to create.
        baseline: The baseline where the files do not name it (Arena-Hard v0.1 judgments).
        judge: The judge's name where the files do not give it (just-eval scores).
        origin: How the import was made, recorded in run.json (defaults to this call).

    Returns:
        The run folder.

    Raises:
        ConfigError: Unknown format, a missing or malformed file (naming file, record and field).

    """
    _check_format(format)
    imported = Imported(baseline_hint=baseline, judge_hint=judge)
    READERS[format](expand_paths(format, paths), imported)
    described = origin or f"evalkit import {format} {' '.join(map(str, paths))} --to {to}"
    return write_run(imported, Path(to), described).path


def export_run(run_dir: str | Path, format: str, out: str | Path | None = None) -> list[Path]:
    """Write a run's records as a peer's files, which that peer's tools read back.

    Args:
        run_dir: A run folder (from ``evalkit run`` or ``evalkit import``).
        format: "alpaca_eval", "mt_bench", "arena_hard" or "just_eval".
        out: Folder to write into (default: ``<run_dir>/export/<format>``).

    Returns:
        The files written.

    """
    _check_format(format)
    records, meta = load_records(Path(run_dir))
    target = Path(out) if out is not None else Path(run_dir) / "export" / format
    return WRITERS[format](records, meta, target)


__all__ = ["READERS", "WRITERS", "alpaca_eval_leaderboard", "export_run", "import_run"]
