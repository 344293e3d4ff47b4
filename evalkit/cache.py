"""SQLite cache of model calls, keyed on the full rendered request.

The key hashes the backend's identity (spec, model file, engine options), the messages or
raw prompt exactly as sent (so the template is in the key), the sampling parameters and
the log-probability request. Deleting the cache never changes a result: it only makes
calls again. Errors are never cached.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evalkit.errors import ConfigError
from evalkit.generators.base import Completion, CompletionRequest, Generator
from evalkit.sqlite_wal import open_wal

SCHEMA_VERSION = 1


def request_key(identity: dict[str, Any], request: CompletionRequest) -> str:
    """Stable hash of everything that determines a completion."""
    payload = {
        "v": SCHEMA_VERSION,
        "backend": identity,
        "request": request.model_dump(mode="json"),
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    """A process-safe key -> Completion store in one SQLite file (WAL mode)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            # Without fsync: a power cut can drop the last entries, which a re-run recomputes;
            # FULL would block the event loop on every put.
            self._db = open_wal(
                path, "CREATE TABLE IF NOT EXISTS completions (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            )
        except sqlite3.DatabaseError as exc:
            raise self._damaged(exc) from exc
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"cannot open the cache at {path}: {exc}. Choose another cache path or use --no-cache."
            ) from exc

    def _damaged(self, exc: Exception) -> ConfigError:
        return ConfigError(
            f"the cache file {self.path} is damaged ({str(exc).splitlines()[0]}). Delete it (deleting "
            "the cache never changes results, it only makes the calls again), or run with --no-cache"
        )

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock; a damaged file becomes one clear error, not a failed item."""
        with self._lock:
            try:
                yield self._db
            except sqlite3.DatabaseError as exc:
                raise self._damaged(exc) from exc

    def get(self, key: str) -> Completion | None:
        """Return the cached completion for a key, or None."""
        with self._reading() as db:
            row = db.execute("SELECT value FROM completions WHERE key = ?", (key,)).fetchone()
        return None if row is None else self._completion(row[0])

    def get_many(self, keys: list[str]) -> list[Completion | None]:
        """Look many keys up at once (None where missing), in the order given."""
        found: dict[str, str] = {}
        with self._reading() as db:
            for start in range(0, len(keys), 500):  # stay under SQLite's limit on bound parameters
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                query = f"SELECT key, value FROM completions WHERE key IN ({marks})"
                found.update(db.execute(query, chunk).fetchall())
        return [None if key not in found else self._completion(found[key]) for key in keys]

    def _completion(self, value: str) -> Completion:
        try:
            return Completion.model_validate_json(value)
        except ValidationError as exc:
            raise self._damaged(exc) from exc

    def put(self, key: str, completion: Completion) -> None:
        """Store a completion (last write wins; values for one key are identical by design)."""
        with self._reading() as db:
            db.execute(
                "INSERT OR REPLACE INTO completions (key, value) VALUES (?, ?)",
                (key, completion.model_dump_json()),
            )

    def put_many(self, items: list[tuple[str, Completion]]) -> None:
        """Store many completions in one transaction (one disk sync instead of one per entry)."""
        rows = [(key, completion.model_dump_json()) for key, completion in items]
        with self._reading() as db:
            db.execute("BEGIN")
            db.executemany("INSERT OR REPLACE INTO completions (key, value) VALUES (?, ?)", rows)
            db.execute("COMMIT")

    def __len__(self) -> int:
        with self._reading() as db:
            (count,) = db.execute("SELECT COUNT(*) FROM completions").fetchone()
        return int(count)

    def clear(self) -> int:
        """Delete every entry; returns how many were removed."""
        removed = len(self)
        with self._lock:
            self._db.execute("DELETE FROM completions")
        return removed

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()


class CachedCaller:
    """Calls a generator through an optional cache and counts calls and hits.

    Attributes:
        calls: Requests that reached the backend.
        hits: Requests answered from the cache.

    """

    def __init__(
        self,
        generator: Generator,
        cache: ResponseCache | None,
        *,
        before_call: Callable[[CompletionRequest], None] | None = None,
        after_call: Callable[[Completion], None] | None = None,
    ) -> None:
        self.generator = generator
        self.cache = cache
        self.before_call = before_call
        self.after_call = after_call
        self.calls = 0
        self.hits = 0
        self._identity = generator.identity()

    def key(self, request: CompletionRequest) -> str:
        """The cache key of a request for this generator."""
        return request_key(self._identity, request)

    def lookup(self, request: CompletionRequest) -> Completion | None:
        """Return a cached completion without calling the backend (None on a miss)."""
        if self.cache is None:
            return None
        found = self.cache.get(self.key(request))
        if found is not None:
            self.hits += 1
        return found

    def _admit(self, request: CompletionRequest) -> None:
        """Run when a backend slot is free: before_call may refuse (a spent budget), else count the call."""
        if self.before_call is not None:
            self.before_call(request)
        self.calls += 1

    async def __call__(self, request: CompletionRequest) -> Completion:
        """Complete a request, from the cache when possible. Errors propagate, uncached."""
        found = self.lookup(request)
        if found is not None:
            return found
        completion = await self.generator.complete_limited(request, self._admit)
        if self.cache is not None:
            self.cache.put(self.key(request), completion)
        if self.after_call is not None:
            self.after_call(completion)
        return completion

    async def complete_many(self, requests: list[CompletionRequest]) -> list[Completion | BaseException]:
        """Complete many requests: cache hits first, the misses in one backend batch.

        Batching backends (vLLM) see every miss at once; failures come back in place.
        """
        keys = [self.key(r) for r in requests] if self.cache is not None else []
        cached = self.cache.get_many(keys) if self.cache is not None else [None] * len(requests)
        results: list[Completion | BaseException | None] = list(cached)
        self.hits += sum(found is not None for found in results)
        missing = [i for i, found in enumerate(results) if found is None]
        if missing:
            if self.before_call is not None:
                for index in missing:
                    self.before_call(requests[index])
            self.calls += len(missing)
            fresh = await self.generator.complete_many([requests[i] for i in missing])
            done: list[tuple[str, Completion]] = []
            for index, outcome in zip(missing, fresh, strict=True):
                results[index] = outcome
                if isinstance(outcome, Completion):
                    if keys:
                        done.append((keys[index], outcome))
                    if self.after_call is not None:
                        self.after_call(outcome)
            if self.cache is not None and done:
                self.cache.put_many(done)
        return [r for r in results if r is not None]
