"""The labeling server's SQLite store (``labels.sqlite`` in the run folder).

Write-ahead logging: every answer is committed (written to the log) before the page
answers, so a server killed at any moment keeps every acknowledged label. By default the
log is not fsynced at each commit (``synchronous=NORMAL``), which survives a killed
process but not a power cut; ``fsync=True`` (``--fsync``) also survives that, at the
cost of one disk flush per answer. Each answer
is a new row (``rev`` counts an annotator's answers to one item); the newest one counts.
A unique (annotator, item, rev) key turns a replayed or doubled form into a clean refusal.
Access tokens are stored as their SHA-256 only.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from evalkit.errors import ConfigError
from evalkit.human.readonly import CURRENT_LABELS_SQL, LABELS_FILE
from evalkit.sqlite_wal import open_wal

Role = Literal["annotator", "admin"]
Status = Literal["label", "skip"]
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
ADMIN = "admin"

SCHEMA = """
CREATE TABLE IF NOT EXISTS people (
  name TEXT PRIMARY KEY, role TEXT NOT NULL, token_sha256 TEXT NOT NULL UNIQUE, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS labels (
  id INTEGER PRIMARY KEY, annotator TEXT NOT NULL, task_id TEXT NOT NULL, rev INTEGER NOT NULL,
  status TEXT NOT NULL, answer TEXT NOT NULL, shown_order TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '', check_kind TEXT, check_correct INTEGER,
  records TEXT NOT NULL, shown_at REAL, answered_at REAL NOT NULL,
  UNIQUE (annotator, task_id, rev));
CREATE TABLE IF NOT EXISTS dialogues (
  id TEXT PRIMARY KEY, annotator TEXT NOT NULL, state TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sheet_rows (
  row_id TEXT PRIMARY KEY, task_id TEXT NOT NULL, shown_order TEXT NOT NULL, created_at REAL NOT NULL);
"""


class StaleAnswerError(Exception):
    """The answer was already recorded (a replayed or doubled form)."""


def hash_token(token: str) -> str:
    """The stored form of an access token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_name(name: str) -> str:
    """Validate an annotator name (it becomes part of ``source="human:<name>"``)."""
    if not NAME_PATTERN.match(name) or name == ADMIN:
        raise ConfigError(
            f"annotator name {name!r} is not allowed: use 1-40 letters, digits, '.', '_' or '-', "
            f"starting with a letter or digit, and not {ADMIN!r}"
        )
    return name


@dataclass(frozen=True)
class Person:
    """Someone holding a valid token."""

    name: str
    role: Role


@dataclass(frozen=True)
class Answer:
    """One stored answer of one annotator to one item."""

    annotator: str
    task_id: str
    rev: int
    status: Status
    answer: dict[str, Any]
    answered_at: float
    shown_order: str = ""
    note: str = ""
    check_kind: str | None = None
    check_correct: bool | None = None
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    shown_at: float | None = None


class LabelStore:
    """The read-write store the labeling server and the sheet importer use."""

    def __init__(self, run_path: Path, *, fsync: bool = False) -> None:
        self.path = run_path / LABELS_FILE
        try:
            self._db = open_wal(self.path, SCHEMA, fsync=fsync, timeout_s=30.0)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"{self.path}: cannot open the labels database ({exc})") from exc

    def close(self) -> None:
        """Close the connection (a clean close also folds the log into the file)."""
        self._db.close()

    def add_person(self, name: str, role: Role = "annotator", *, reset: bool = False) -> str:
        """Create someone (or give them a new token with ``reset``) and return their token, once.

        Raises:
            ConfigError: The name is invalid, or exists and ``reset`` is false.

        """
        if role == "annotator":
            check_name(name)
        token = secrets.token_urlsafe(32)
        exists = self._db.execute("SELECT 1 FROM people WHERE name = ?", (name,)).fetchone()
        if exists and not reset:
            raise ConfigError(
                f"annotator {name!r} already exists; pass --reset to give them a new link "
                "(the old one stops working)"
            )
        self._db.execute(
            "INSERT INTO people (name, role, token_sha256, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET token_sha256 = excluded.token_sha256",
            (name, role, hash_token(token), time.time()),
        )
        return token

    def identify(self, token: str) -> Person | None:
        """Who holds this token (None for an unknown one)."""
        row = self._db.execute(
            "SELECT name, role FROM people WHERE token_sha256 = ?", (hash_token(token),)
        ).fetchone()
        return Person(row[0], row[1]) if row else None

    def annotators(self) -> list[str]:
        """Annotator names, in creation order."""
        rows = self._db.execute("SELECT name FROM people WHERE role = 'annotator' ORDER BY created_at, name")
        return [name for (name,) in rows]

    def revision(self, annotator: str, task_id: str) -> int:
        """How many answers this annotator gave to this item (the next answer's rev)."""
        row = self._db.execute(
            "SELECT COUNT(*) FROM labels WHERE annotator = ? AND task_id = ?", (annotator, task_id)
        ).fetchone()
        return int(row[0])

    def submit(self, answer: Answer) -> None:
        """Commit one answer; a second answer with the same rev raises StaleAnswerError."""
        try:
            self._db.execute(
                "INSERT INTO labels (annotator, task_id, rev, status, answer, shown_order, note, check_kind, "
                "check_correct, records, shown_at, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    answer.annotator,
                    answer.task_id,
                    answer.rev,
                    answer.status,
                    json.dumps(answer.answer, sort_keys=True),
                    answer.shown_order,
                    answer.note,
                    answer.check_kind,
                    None if answer.check_correct is None else int(answer.check_correct),
                    json.dumps(answer.records, sort_keys=True, ensure_ascii=False),
                    answer.shown_at,
                    answer.answered_at,
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise StaleAnswerError(f"answer {answer.rev} to {answer.task_id} already stored") from exc

    def current(self, annotator: str | None = None) -> list[Answer]:
        """The newest answer per (annotator, item), labels and skips, oldest first."""
        where = "WHERE annotator = ?" if annotator is not None else ""
        sql = (
            "SELECT l.* FROM labels AS l JOIN (SELECT annotator, task_id, MAX(rev) AS rev "
            f"FROM labels {where} GROUP BY annotator, task_id) AS n "
            "ON n.annotator = l.annotator AND n.task_id = l.task_id AND n.rev = l.rev ORDER BY l.id"
        )
        rows = self._db.execute(sql, (annotator,) if annotator is not None else ())
        return [_answer_from_row(row) for row in rows]

    def answered(self, annotator: str) -> set[str]:
        """Items this annotator answered or skipped."""
        rows = self._db.execute("SELECT DISTINCT task_id FROM labels WHERE annotator = ?", (annotator,))
        return {task_id for (task_id,) in rows}

    def latest(self, annotator: str, task_id: str) -> Answer | None:
        """The newest answer of this annotator to one item."""
        row = self._db.execute(
            "SELECT * FROM labels WHERE annotator = ? AND task_id = ? ORDER BY rev DESC LIMIT 1",
            (annotator, task_id),
        ).fetchone()
        return _answer_from_row(row) if row else None

    def recent(self, annotator: str, limit: int = 50) -> list[str]:
        """Items this annotator answered most recently, newest first."""
        rows = self._db.execute(
            "SELECT task_id FROM labels WHERE annotator = ? ORDER BY id DESC LIMIT ?", (annotator, limit)
        )
        return [task_id for (task_id,) in rows]

    def count_answers(self) -> int:
        """Every answer row ever stored (each acknowledged post is one)."""
        return int(self._db.execute("SELECT COUNT(*) FROM labels").fetchone()[0])

    def count_records(self) -> int:
        """Items whose newest answer is a label (what the record reader returns)."""
        return len(self._db.execute(CURRENT_LABELS_SQL).fetchall())

    def save_dialogue(self, dialogue_id: str, annotator: str, state: dict[str, Any]) -> None:
        """Store (or replace) the state of a live dialogue."""
        self._db.execute(
            "INSERT INTO dialogues (id, annotator, state, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            (dialogue_id, annotator, json.dumps(state, ensure_ascii=False), time.time()),
        )

    def dialogue(self, dialogue_id: str, annotator: str) -> dict[str, Any] | None:
        """A live dialogue's state, only for the annotator who holds it."""
        row = self._db.execute(
            "SELECT state FROM dialogues WHERE id = ? AND annotator = ?", (dialogue_id, annotator)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def dialogue_count(self, annotator: str) -> int:
        """How many live dialogues this annotator started."""
        row = self._db.execute("SELECT COUNT(*) FROM dialogues WHERE annotator = ?", (annotator,)).fetchone()
        return int(row[0])

    def save_sheet_rows(self, rows: list[tuple[str, str, str]]) -> None:
        """Remember (row id, item, order shown) for every exported sheet row."""
        now = time.time()
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR IGNORE INTO sheet_rows (row_id, task_id, shown_order, created_at) "
                "VALUES (?, ?, ?, ?)",
                [(*row, now) for row in rows],
            )

    def sheet_rows(self) -> dict[str, tuple[str, str]]:
        """Exported sheet rows: row id -> (item, order shown)."""
        rows = self._db.execute("SELECT row_id, task_id, shown_order FROM sheet_rows")
        return {row_id: (task_id, order) for row_id, task_id, order in rows}

    def submit_many(self, answers: list[Answer]) -> None:
        """Commit several answers in one transaction: all or nothing."""
        self._db.execute("BEGIN")
        try:
            for answer in answers:
                self.submit(answer)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


def _answer_from_row(row: tuple[Any, ...]) -> Answer:
    (_, annotator, task_id, rev, status, answer, order, note, check_kind, correct, records, shown, at) = row
    return Answer(
        annotator=annotator,
        task_id=task_id,
        rev=rev,
        status=status,
        answer=json.loads(answer),
        shown_order=order,
        note=note,
        check_kind=check_kind,
        check_correct=None if correct is None else bool(correct),
        records=json.loads(records),
        shown_at=shown,
        answered_at=at,
    )
