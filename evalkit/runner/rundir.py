"""The run directory is the record: run.json plus one JSONL file per record kind.

Records are appended one line at a time and flushed, so a process killed at any moment
loses at most the line being written. On open, a torn last line is cut off; records that
ended in an error are set aside so the re-run retries them; everything else is kept and
never redone. Nothing is ever written twice for the same key.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

import jsonlines
from pydantic import BaseModel, ValidationError

from evalkit.errors import ConfigError
from evalkit.human.readonly import read_human_records
from evalkit.records import Grade, Judgment, Prompt, Response, RunRecords

RecordT = TypeVar("RecordT", bound=BaseModel)

RUN_FILE = "run.json"
FILES: dict[str, type[BaseModel]] = {
    "prompts": Prompt,
    "responses": Response,
    "judgments": Judgment,
    "grades": Grade,
}


def atomic_write_text(path: Path, text: str) -> None:
    """Write a file so that readers see either the old or the new content, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, 0o644)  # mkstemp makes files private; run folders are meant to be shared
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cut_torn_tail(path: Path) -> None:
    """Drop a final line without its newline: the write a kill interrupted."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)


class RecordStore(Generic[RecordT]):
    """Append-only JSONL file of one record type, with resume-safe loading."""

    def __init__(self, path: Path, model: type[RecordT]) -> None:
        self.path = path
        self.model = model

    def load(self) -> list[RecordT]:
        """Read all records; a malformed line other than a torn tail is a clear error."""
        if not self.path.exists():
            return []
        _cut_torn_tail(self.path)
        records: list[RecordT] = []
        with jsonlines.open(self.path) as reader:
            try:
                for number, row in enumerate(reader.iter(allow_none=False, skip_empty=True), start=1):
                    records.append(self._validate(row, number))
            except jsonlines.InvalidLineError as exc:
                raise ConfigError(
                    f"{self.path}:{exc.lineno}: not valid JSON; fix or delete that line, then re-run"
                ) from exc
        return records

    def _validate(self, row: Any, number: int) -> RecordT:
        try:
            return self.model.model_validate(row)
        except ValidationError as exc:
            raise ConfigError(
                f"{self.path}:{number}: not a valid {self.model.__name__} record ({exc.errors()[0]['msg']}); "
                "fix or delete that line, then re-run to redo it"
            ) from exc

    def append(self, records: Iterable[RecordT]) -> None:
        """Append records, flushed to the OS so a killed process keeps them."""
        with self.path.open("a", encoding="utf-8") as handle, jsonlines.Writer(handle, flush=True) as writer:
            writer.write_all(r.model_dump(mode="json") for r in records)

    def rewrite(self, records: Sequence[RecordT]) -> None:
        """Replace the file's content atomically."""
        atomic_write_text(self.path, "".join(r.model_dump_json() + "\n" for r in records))

    def resume(
        self, item_key: Callable[[RecordT], Hashable], failed: Callable[[RecordT], bool]
    ) -> list[RecordT]:
        """Keep the records of finished items; drop items with any failed record so they are retried.

        An item (one work unit, which may write several records) is finished when all its
        records succeeded. The file is rewritten
        only when something was dropped.
        """
        loaded = self.load()
        groups: dict[Hashable, list[RecordT]] = {}
        for record in loaded:
            groups.setdefault(item_key(record), []).append(record)
        kept = [r for group in groups.values() if not any(failed(r) for r in group) for r in group]
        if len(kept) != len(loaded):
            self.rewrite(kept)
        return kept


class RunDir:
    """A run's folder: run.json, prompts/responses/judgments/grades JSONL, report.html."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        if create:
            self._ensure_writable()
        elif not (path / RUN_FILE).exists():
            raise ConfigError(
                f"{path} is not an evalkit run folder (no {RUN_FILE}); pass the folder `evalkit run` wrote"
            )

    def _ensure_writable(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write-test"
            probe.write_text("ok", encoding="utf-8")
            probe.unlink()
        except OSError as exc:
            raise ConfigError(
                f"cannot write to the run folder {self.path}: {exc.strerror or exc}. "
                "Choose a writable folder with --output-dir or fix its permissions."
            ) from exc

    def store(self, kind: str) -> RecordStore[Any]:
        """The JSONL store for "prompts", "responses", "judgments" or "grades"."""
        return RecordStore(self.path / f"{kind}.jsonl", FILES[kind])

    @property
    def report_path(self) -> Path:
        """Where report.html goes."""
        return self.path / "report.html"

    def read_meta(self) -> dict[str, Any]:
        """run.json's content ({} when absent)."""
        file = self.path / RUN_FILE
        if not file.exists():
            return {}
        try:
            meta: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{file}:{exc.lineno}: invalid JSON ({exc.msg}); restore or delete run.json"
            ) from exc
        return meta

    def write_meta(self, meta: dict[str, Any]) -> None:
        """Replace run.json atomically."""
        atomic_write_text(
            self.path / RUN_FILE, json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n"
        )

    def update_meta(self, **fields: Any) -> dict[str, Any]:
        """Merge fields into run.json and return the result."""
        meta = {**self.read_meta(), **fields}
        self.write_meta(meta)
        return meta

    def load_records(self) -> RunRecords:
        """Everything stored in the folder, for statistics and reports.

        Human labels (``labels.sqlite``, read without modifying it) join the records of
        the same kinds, so statistics and the report treat them like any other verdict.
        """
        human = read_human_records(self.path)
        return RunRecords(
            prompts=(*self.store("prompts").load(), *human.prompts),
            responses=(*self.store("responses").load(), *human.responses),
            judgments=(*self.store("judgments").load(), *human.judgments),
            grades=(*self.store("grades").load(), *human.grades),
            config=report_context(self.read_meta()),
        )


def report_context(meta: dict[str, Any]) -> dict[str, Any]:
    """The resolved config plus the run facts the report header shows (status, times, calls, cost)."""
    context = {**meta.get("config", {})}
    for key in ("status", "started_at", "finished_at", "versions", "seed"):
        if key in meta:
            context[key] = meta[key]
    executions = meta.get("executions", [])
    calls: dict[str, list[int]] = {}
    tokens: dict[str, list[int]] = {}
    for execution in executions:  # totals over every execution of a resumed run
        for spec, c in execution.get("calls", {}).items():
            total = calls.setdefault(spec, [0, 0])
            total[0] += c.get("calls", 0)
            total[1] += c.get("cache_hits", 0)
        for spec, t in execution.get("cost", {}).get("by_model", {}).items():
            total = tokens.setdefault(spec, [0, 0])
            total[0] += t.get("prompt_tokens", 0)
            total[1] += t.get("completion_tokens", 0)
    if executions:
        context["counts"] = {"executions": str(len(executions))} | {
            spec: f"{n} model calls, {hits} cache hits" for spec, (n, hits) in calls.items()
        }
        context["usage"] = {spec: f"{p} prompt + {c} completion tokens" for spec, (p, c) in tokens.items()}
        usd = sum(e.get("cost", {}).get("total_usd", 0.0) for e in executions)
        context["cost"] = {"estimated USD": f"{usd:.4f}"}
    return context
