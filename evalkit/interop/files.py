"""Read and write the peers' JSON / JSONL / CSV files, with errors that name file, record and field."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from evalkit.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    """One record of a peer's file, remembering where it came from.

    Attributes:
        path: The file it was read from.
        number: Its 1-based position (line of a JSONL file, element of a JSON list, CSV row).
        data: Its fields, as parsed.

    """

    path: Path
    number: int
    data: Mapping[str, Any]

    def fail(
        self, field: str, problem: str, fix: str = "check that the file is in the format named"
    ) -> ConfigError:
        """The error for a bad field of this record: file, record, field, problem, what to do."""
        return ConfigError(f"{self.path}: record {self.number}: field '{field}': {problem}; {fix}")

    def require(self, field: str, kind: type[T] | tuple[type, ...]) -> T:
        """The field's value, which must be present and of the given type."""
        if field not in self.data:
            raise self.fail(field, "missing")
        value = self.data[field]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(field, f"must be {names}, not {type(value).__name__}")
        return value  # type: ignore[return-value]

    def text(self, field: str) -> str:
        """A required string field."""
        return self.require(field, str)

    def numeric(self, field: str) -> float:
        """A required numeric field."""
        value: float = self.require(field, (int, float))
        return float(value)

    def key(self, field: str) -> str:
        """A required id field (string or integer), as a string."""
        return str(self.require(field, (str, int)))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found; check the path") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it as UTF-8 text ({exc})") from exc


def _as_entry(path: Path, number: int, row: Any) -> Entry:
    if not isinstance(row, dict):
        raise ConfigError(f"{path}: record {number}: must be a JSON object, not {type(row).__name__}")
    return Entry(path, number, row)


def read_jsonl(path: Path) -> list[Entry]:
    """Every non-empty line of a JSONL file (record numbers are line numbers)."""
    entries = []
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: record {number}: not valid JSON ({exc.msg}); fix that line") from exc
        entries.append(_as_entry(path, number, row))
    return entries


def read_json_list(path: Path) -> list[Entry]:
    """The elements of a JSON file holding a list of objects (record numbers count from 1)."""
    try:
        rows = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
    if not isinstance(rows, list):
        raise ConfigError(f"{path}: must hold a JSON list of records, not a {type(rows).__name__}")
    return [_as_entry(path, number, row) for number, row in enumerate(rows, start=1)]


def read_records(path: Path) -> list[Entry]:
    """A JSON list or a JSONL file, chosen by the file's first non-blank character."""
    head = _read_text(path).lstrip()[:1]
    return read_json_list(path) if head == "[" else read_jsonl(path)


def read_csv(path: Path) -> list[Entry]:
    """The rows of a CSV file with a header line (record 1 is the first row after the header)."""
    reader = csv.DictReader(_read_text(path).splitlines())
    return [Entry(path, number, row) for number, row in enumerate(reader, start=1)]


def write_json_list(path: Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write a JSON list, indented as the peers' own files are."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(list(rows), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write one JSON object per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    path.write_text(text, encoding="utf-8")
    return path
