"""The run directory is the record: run.json plus one JSONL file per record kind.

Records are appended one line at a time and flushed, so a process killed at any moment
loses at most the line being written. On open, a torn last line is cut off; records that
ended in an error are set aside so the re-run retries them; everything else is kept and
never redone. Nothing is ever written twice for the same key.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import tempfile
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import jsonlines
from pydantic import BaseModel, ValidationError

from evalkit.errors import ConfigError
from evalkit.human.readonly import read_human_records
from evalkit.records import Grade, Judgment, Prompt, Response
from evalkit.runner.current import current_records
from evalkit.runner.meta import RunMeta, RunRecords

RecordT = TypeVar("RecordT", bound=BaseModel)

RUN_FILE = "run.json"
SUPERSEDED_DIR = "superseded"
LOCK_FILE = ".lock"
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
    """Drop a final line without its newline: the write a kill interrupted (writers only)."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


@dataclass(frozen=True)
class Expectation:
    """What a stored work item must look like to count as done."""

    fingerprint: str
    records: int


class RecordStore(Generic[RecordT]):
    """Append-only JSONL file of one record type, with resume-safe loading.

    Reading never modifies the file (a run may be writing it): a last line without its
    newline is a write in progress, or one a kill interrupted, and is skipped.
    """

    def __init__(self, path: Path, model: type[RecordT]) -> None:
        self.path = path
        self.model = model

    def load(self) -> list[RecordT]:
        """Read all complete records; a malformed line other than an unterminated tail is a clear error."""
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        records: list[RecordT] = []
        try:
            text = complete.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = complete[: exc.start].count(b"\n") + 1
            raise ConfigError(
                f"{self.path}:{line}: not UTF-8 text; fix or delete that line, then re-run"
            ) from exc
        reader = jsonlines.Reader(io.StringIO(text))
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
        """Append one item's records in a single write, so a kill leaves all of them or a torn tail."""
        blob = "".join(r.model_dump_json() + "\n" for r in records).encode("utf-8")
        if not blob:
            return
        if self.path.exists() and self.path.stat().st_size and not _ends_with_newline(self.path):
            _cut_torn_tail(self.path)  # an earlier writer was killed mid-line
        with self.path.open("ab") as handle:
            handle.write(blob)
            handle.flush()

    def rewrite(self, records: Sequence[RecordT]) -> None:
        """Replace the file's content atomically."""
        atomic_write_text(self.path, "".join(r.model_dump_json() + "\n" for r in records))

    def resume(
        self,
        item_key: Callable[[RecordT], Hashable],
        failed: Callable[[RecordT], bool],
        wanted: Mapping[Hashable, Expectation],
        in_scope: Callable[[RecordT], bool] = lambda record: True,
    ) -> tuple[list[RecordT], int]:
        """Keep the records of finished, current items; set aside stale ones; drop the rest to redo.

        An item is finished when it has all its records, none failed. Records of items no
        longer asked for, or whose fingerprint differs from the item's, are moved to
        ``superseded/<file>`` (kept on disk, out of every statistic). Failed and incomplete
        items are dropped so they are redone. Records outside this run's scope (prompts not
        selected by ``--limit`` or filters) are left in the file untouched and not returned.
        Returns the kept records and how many were set aside. Only the run holding the
        folder's lock calls this.
        """
        if self.path.exists():
            _cut_torn_tail(self.path)
        loaded = self.load()
        groups: dict[Hashable, list[RecordT]] = {}
        outside = [record for record in loaded if not in_scope(record)]
        for record in loaded:
            if in_scope(record):
                groups.setdefault(item_key(record), []).append(record)
        kept: list[RecordT] = []
        stale: list[RecordT] = []
        for key, group in groups.items():
            expected = wanted.get(key)
            if expected is None or any(_fingerprint(r) != expected.fingerprint for r in group):
                stale.extend(group)
            elif len(group) == expected.records and not any(failed(r) for r in group):
                kept.extend(group)
        if stale:
            aside = self.path.parent / SUPERSEDED_DIR / self.path.name
            aside.parent.mkdir(exist_ok=True)
            RecordStore(aside, self.model).append(stale)
        if len(kept) + len(outside) != len(loaded):
            self.rewrite([*outside, *kept])
        return kept, len(stale)


def _fingerprint(record: BaseModel) -> str:
    return str(getattr(record, "fingerprint", ""))


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

    def read_meta(self) -> RunMeta:
        """run.json as the typed run record (an empty one when absent); never modifies anything."""
        file = self.path / RUN_FILE
        if not file.exists():
            return RunMeta()
        try:
            return RunMeta.from_stored(json.loads(file.read_text(encoding="utf-8")))
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{file}:{exc.lineno}: invalid JSON ({exc.msg}); restore or delete run.json"
            ) from exc
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(part) for part in problem["loc"])
            raise ConfigError(
                f"{file}: field '{where}': {problem['msg']}; restore run.json or re-run the config"
            ) from exc

    def write_meta(self, meta: RunMeta) -> None:
        """Replace run.json atomically."""
        atomic_write_text(self.path / RUN_FILE, meta.model_dump_json(indent=2) + "\n")

    def update_meta(self, **fields: Any) -> RunMeta:
        """Replace some fields of run.json and return the result."""
        meta = self.read_meta().model_copy(update=fields)
        self.write_meta(meta)
        return meta

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder for one writing run; a second run stops at once with a clear message."""
        handle = (self.path / LOCK_FILE).open("a+", encoding="utf-8")
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise ConfigError(
                    f"{self.path} is in use by another evalkit run ({holder}); wait for it to finish "
                    "or stop it, then run again (finished work is kept)"
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}\n")
            handle.flush()
            yield
        finally:
            handle.close()  # closing releases the lock, also when the process is killed

    def load_records(self) -> RunRecords:
        """The folder's current records, for statistics and reports (stale ones left out and counted).

        Human labels (``labels.sqlite``, read without modifying it) join the records of the
        same kinds, so statistics and the report treat them like any other verdict.
        """
        meta = self.read_meta()
        human = read_human_records(self.path)
        stored = {
            "prompts": [*self.store("prompts").load(), *human.prompts],
            "responses": [*self.store("responses").load(), *human.responses],
            "judgments": [*self.store("judgments").load(), *human.judgments],
            "grades": [*self.store("grades").load(), *human.grades],
        }
        return current_records(meta, stored)
