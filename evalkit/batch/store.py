"""Per-request state of a run's batches, in ``batches/requests.sqlite`` in the run folder.

One row per request (its cache key, also its ``custom_id``): the request file it was
last written to, ``pending`` / ``done`` / ``failed``, how many batches it failed in, and
the provider's raw result line once it came back. The raw line is turned into a
Completion only when the request is asked for again, with the request in hand, by the
same parsing code as the online path. Rows are written in large transactions, so a
million requests cost a few seconds, not a disk sync each.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import ConfigError
from evalkit.sqlite_wal import open_wal

CHUNK = 5000


@dataclass(frozen=True)
class RequestRow:
    """One request's batch state.

    Attributes:
        file: The request file it was last written to.
        state: "pending", "done" or "failed".
        attempts: Batches it failed in so far.
        result: The provider's raw result line (done) or error message (failed).

    """

    file: str
    state: str
    attempts: int
    result: str


class RequestStore:
    """SQLite table of request states, shared by all batched models of a run."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        try:
            self._db = open_wal(
                path,
                "CREATE TABLE IF NOT EXISTS requests (key TEXT PRIMARY KEY, file TEXT NOT NULL, "
                "state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, result TEXT NOT NULL DEFAULT '');",
            )
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open the batch request store {path}: {exc}") from exc

    def get(self, key: str) -> RequestRow | None:
        """The state of one request, or None if it was never written to a submitted file."""
        with self._lock:
            row = self._db.execute(
                "SELECT file, state, attempts, result FROM requests WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else RequestRow(*row)

    def _many(self, sql: str, rows: Iterable[tuple[object, ...]]) -> None:
        batch: list[tuple[object, ...]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= CHUNK:
                self._write(sql, batch)
                batch = []
        if batch:
            self._write(sql, batch)

    def _write(self, sql: str, rows: list[tuple[object, ...]]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(sql, rows)
            self._db.execute("COMMIT")

    def mark_pending(self, keys: Iterable[str], file: str) -> None:
        """Record that these requests are in ``file`` (keeping their failure count)."""
        self._many(
            "INSERT INTO requests (key, file, state) VALUES (?, ?, 'pending') "
            "ON CONFLICT(key) DO UPDATE SET file = excluded.file, state = 'pending', result = ''",
            ((key, file) for key in keys),
        )

    def record_results(self, file: str, results: Iterable[tuple[str, bool, str]]) -> None:
        """Store (key, succeeded, raw line or error) results of ``file``'s batch.

        Only rows still pending in that file change, so collecting twice counts nothing twice.
        """
        self._many(
            "UPDATE requests SET state = ?, result = ?, attempts = attempts + ? "
            "WHERE key = ? AND file = ? AND state = 'pending'",
            (("done" if ok else "failed", text, 0 if ok else 1, key, file) for key, ok, text in results),
        )

    def fail_missing(self, file: str, reason: str) -> int:
        """Mark the requests of ``file`` that came back with no result at all as failed."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE requests SET state = 'failed', result = ?, attempts = attempts + 1 "
                "WHERE file = ? AND state = 'pending'",
                (reason, file),
            )
        return int(cursor.rowcount)

    def forget_file(self, file: str) -> None:
        """Drop pending rows of a file that was never submitted."""
        with self._lock:
            self._db.execute("DELETE FROM requests WHERE file = ? AND state = 'pending'", (file,))

    def counts(self, file: str) -> dict[str, int]:
        """Requests of a file by state."""
        with self._lock:
            rows = self._db.execute(
                "SELECT state, COUNT(*) FROM requests WHERE file = ? GROUP BY state", (file,)
            ).fetchall()
        return {str(state): int(count) for state, count in rows}

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
