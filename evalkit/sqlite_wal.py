"""SQLite files that several tasks write: one way to open them (WAL, autocommit, any thread)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_wal(path: Path, schema: str, *, fsync: bool = False, timeout_s: float = 5.0) -> sqlite3.Connection:
    """Open (creating it and its folder) a SQLite file in WAL mode and apply ``schema``.

    WAL with ``synchronous=NORMAL`` survives a crash or SIGKILL (only a power cut can drop the
    last commits); ``fsync`` asks for FULL, which survives that too at a cost per commit.

    Raises:
        OSError: The folder cannot be made.
        sqlite3.Error: The file cannot be opened or is not a database.

    """
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(str(path), timeout=timeout_s, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA synchronous={'FULL' if fsync else 'NORMAL'}")
    connection.executescript(schema)
    return connection
