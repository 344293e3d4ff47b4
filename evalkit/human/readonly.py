"""Read the human labels of a run folder as ordinary records, without modifying any file.

The labeling server keeps every answer in ``labels.sqlite`` inside the run folder. Each
answered item stores the records it produces (Judgment / Grade, and for live dialogues the
Prompt and Responses too) as JSON, so reading them back needs only sqlite3 and pydantic.
This module is deliberately light: ``RunDir.load_records`` imports it for every run.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import ConfigError
from evalkit.records import Grade, Judgment, Prompt, Response

LABELS_FILE = "labels.sqlite"

# The newest answer of each annotator for each item; a skip as the newest answer withdraws nothing
# stored because a skip is only accepted on items without a label.
CURRENT_LABELS_SQL = """
SELECT l.annotator, l.task_id, l.records FROM labels AS l
JOIN (SELECT annotator, task_id, MAX(rev) AS rev FROM labels GROUP BY annotator, task_id) AS newest
  ON newest.annotator = l.annotator AND newest.task_id = l.task_id AND newest.rev = l.rev
WHERE l.status = 'label'
ORDER BY l.id
"""


@dataclass
class HumanRecords:
    """Records produced by people, ready to merge with a run's JSONL records."""

    prompts: list[Prompt] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    judgments: list[Judgment] = field(default_factory=list)
    grades: list[Grade] = field(default_factory=list)

    def add(self, bundle: dict[str, list[dict[str, Any]]]) -> None:
        """Validate and add one stored bundle of records."""
        self.prompts.extend(Prompt.model_validate(r) for r in bundle.get("prompts", []))
        self.responses.extend(Response.model_validate(r) for r in bundle.get("responses", []))
        self.judgments.extend(Judgment.model_validate(r) for r in bundle.get("judgments", []))
        self.grades.extend(Grade.model_validate(r) for r in bundle.get("grades", []))


@contextmanager
def open_readonly(path: Path) -> Iterator[sqlite3.Connection]:
    """Open the labels database for reading only.

    With no write-ahead log beside it (no server running, or one that shut down cleanly)
    the file is opened as immutable, so SQLite creates no side files at all; otherwise it
    is opened read-only and reads the log a running or killed server left.
    """
    wal = path.with_name(path.name + "-wal")
    mode = "mode=ro" if wal.exists() else "immutable=1"
    uri = f"{path.resolve().as_uri()}?{mode}"
    with closing(sqlite3.connect(uri, uri=True)) as connection:
        yield connection


def read_human_records(run_path: Path) -> HumanRecords:
    """The human records of a run folder (empty when nobody labeled anything).

    Raises:
        ConfigError: The labels database is unreadable; the message names the file.

    """
    path = run_path / LABELS_FILE
    records = HumanRecords()
    if not path.exists():
        return records
    try:
        with open_readonly(path) as connection:
            rows = connection.execute(CURRENT_LABELS_SQL).fetchall()
    except sqlite3.Error as exc:
        raise ConfigError(
            f"{path}: cannot read the human labels ({exc}); restore the file or move it away"
        ) from exc
    for annotator, task_id, blob in rows:
        try:
            records.add(json.loads(blob))
        except ValueError as exc:
            raise ConfigError(
                f"{path}: the stored label of {annotator!r} for item {task_id!r} is not a valid record "
                f"({exc}); the file was changed outside evalkit"
            ) from exc
    return records
