"""Write, submit, find again, poll and collect the provider batches of one run.

Requests that a batched model must answer are written to request files under
``RUN_DIR/batches/`` as they come (streamed, one open file per model, rolled over at the
provider's request-count and byte limits). :meth:`BatchCoordinator.settle` closes the open
files, records each one's intent in the ledger, submits it with metadata naming the run,
file and a random tag, records the batch id, then polls until every batch has ended and
stores its results (or, detached, returns control to the user at once).

Crash safety: a request file's rows are stored before its intent, its intent before its
submission, its id after; on the next run a file with no intent is dropped, and an intent
with no id is looked for among the provider's batches by its metadata before anything is
submitted again. Results are recorded only into rows still pending in that file, so
collecting twice changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from evalkit.batch.ledger import BatchEntry, Ledger
from evalkit.batch.providers import BatchProvider, read_lines
from evalkit.batch.store import RequestStore
from evalkit.errors import BatchesPendingError
from evalkit.generators.base import CompletionRequest

LOG = logging.getLogger("evalkit.batch")
FILE_PREFIX = "requests-"


@dataclass
class OpenFile:
    """The request file a model is writing now."""

    name: str
    handle: BinaryIO
    keys: set[str] = field(default_factory=set)
    size: int = 0
    estimate_usd: float = 0.0


@dataclass
class BatchedModel:
    """A model whose calls go through batches, with its provider and limits."""

    spec: str
    provider: BatchProvider
    max_requests: int
    max_bytes: int
    poll_s: float


class BatchCoordinator:
    """All batches of one run folder: request files, ledger, request store, polling.

    Attributes:
        folder: ``RUN_DIR/batches``.
        run_tag: Names the run in each batch's metadata.
        detach: Submit and return instead of waiting for batches to end.
        submitted: Batches submitted by this process.

    """

    def __init__(self, folder: Path, run_tag: str, *, detach: bool = False) -> None:
        self.folder = folder
        self.run_tag = run_tag
        self.detach = detach
        self.ledger = Ledger(folder)
        self.store = RequestStore(folder / "requests.sqlite")
        self.models: dict[str, BatchedModel] = {}
        self.submitted = 0
        self._open: dict[str, OpenFile] = {}
        self._recovered = False

    def add_model(self, model: BatchedModel) -> None:
        """Send this model's requests through batches."""
        self.models[model.spec] = model

    def queued(self, key: str) -> bool:
        """Whether a request is in a file this process is still writing."""
        return any(key in f.keys for f in self._open.values())

    def file_open(self, name: str) -> bool:
        """Whether a request file is being written, or submitted and not yet collected."""
        entry = self.ledger.entries.get(name)
        return (entry is not None and entry.open) or any(f.name == name for f in self._open.values())

    @property
    def reserved_usd(self) -> float:
        """Estimated cost of requests written or submitted whose results are not stored yet."""
        return sum(e.estimate_usd for e in self.ledger.open_entries()) + sum(
            f.estimate_usd for f in self._open.values()
        )

    def enqueue(self, spec: str, key: str, request: CompletionRequest, estimate_usd: float) -> None:
        """Append one request to the model's open request file, rolling over at the limits."""
        model = self.models[spec]
        line = model.provider.request_line(key, request)
        current = self._open.get(spec)
        if current is not None and (
            len(current.keys) >= model.max_requests or current.size + len(line) > model.max_bytes
        ):
            self._close(spec)
            current = None
        if current is None:
            current = self._new_file(spec)
        current.handle.write(line)
        current.keys.add(key)
        current.size += len(line)
        current.estimate_usd += estimate_usd

    def _new_file(self, spec: str) -> OpenFile:
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        name = f"{FILE_PREFIX}{stamp}-{secrets.token_hex(4)}.jsonl"
        opened = OpenFile(name, (self.folder / name).open("wb"))
        self._open[spec] = opened
        return opened

    def _close(self, spec: str) -> None:
        """Make a finished file durable, store its rows, then record the intent to submit it."""
        opened = self._open.pop(spec)
        opened.handle.flush()
        os.fsync(opened.handle.fileno())
        opened.handle.close()
        self.store.mark_pending(opened.keys, opened.name)
        model = self.models[spec]
        self.ledger.intent(
            BatchEntry(
                file=opened.name, model=spec, provider=model.provider.name, tag=secrets.token_hex(8),
                requests=len(opened.keys), size=opened.size, estimate_usd=opened.estimate_usd,
                created_at=time.time(),
            )
        )  # fmt: skip

    def _metadata(self, entry: BatchEntry) -> dict[str, str]:
        return {"evalkit_run": self.run_tag[:500], "evalkit_file": entry.file, "evalkit_tag": entry.tag}

    async def recover(self) -> None:
        """Once per process: drop files never meant for submission, find batches whose id was lost."""
        if self._recovered:
            return
        self._recovered = True
        for path in sorted(self.folder.glob(f"{FILE_PREFIX}*.jsonl")):
            if path.name not in self.ledger.entries and not self.file_open(path.name):
                self.store.forget_file(path.name)  # written but never recorded: its items ask again
                path.unlink()
        claimed = frozenset(e.batch_id for e in self.ledger.entries.values() if e.batch_id)
        for entry in self._ours(submitted=False):
            found = await self.models[entry.model].provider.find(
                self._metadata(entry), entry.requests, entry.created_at, claimed
            )
            if found is not None:
                LOG.info("found batch %s for %s, submitted before the last run stopped", found, entry.file)
                self.ledger.record({"event": "submitted", "file": entry.file, "batch_id": found})
                claimed = claimed | {found}

    def _ours(self, *, submitted: bool) -> list[BatchEntry]:
        return [
            e
            for e in self.ledger.open_entries()
            if e.model in self.models and (e.batch_id is not None) == submitted
        ]

    async def settle(self) -> None:
        """Submit everything written, then wait until every batch of this run's models has ended.

        Raises:
            BatchesPendingError: Detached and some batches are still running.

        """
        await self.recover()
        for spec in list(self._open):
            self._close(spec)
        for entry in self._ours(submitted=False):
            await self._submit(entry)
        while True:
            for entry in self._ours(submitted=True):
                await self._poll(entry)
            running = self._ours(submitted=True)
            if not running:
                return
            if self.detach:
                raise BatchesPendingError(
                    f"{len(running)} batch(es) running ({self.submitted} submitted now); run the same "
                    f"command again to collect what finished, and see `evalkit batches {self.folder.parent}`"
                )
            await asyncio.sleep(min(self.models[e.model].poll_s for e in running))

    async def _submit(self, entry: BatchEntry) -> None:
        provider = self.models[entry.model].provider
        batch_id = await provider.submit(self.folder / entry.file, self._metadata(entry))
        self.submitted += 1
        self.ledger.record({"event": "submitted", "file": entry.file, "batch_id": batch_id})

    async def _poll(self, entry: BatchEntry) -> None:
        assert entry.batch_id is not None
        provider = self.models[entry.model].provider
        state = await provider.state(entry.batch_id)
        if state.status != entry.status or state.counts != entry.counts:
            self.ledger.record(
                {"event": "status", "file": entry.file, "status": state.status, "counts": state.counts}
            )
        if state.ended:
            await self._collect(entry, provider)

    async def _collect(self, entry: BatchEntry, provider: BatchProvider) -> None:
        """Download the results to disk, store them by custom id, fail what never came back."""
        assert entry.batch_id is not None
        destination = self.folder / entry.file.replace(".jsonl", ".results.jsonl")
        partial = destination.with_suffix(".part")
        await provider.download(entry.batch_id, partial)
        partial.replace(destination)
        results = (provider.read_result(line) for line in read_lines(destination))
        self.store.record_results(entry.file, ((r.custom_id, r.ok, r.text) for r in results))
        missing = self.store.fail_missing(entry.file, f"no result came back (batch {entry.status})")
        if missing:
            LOG.warning("%s: %d request(s) of batch %s came back without a result", entry.model, missing,
                        entry.batch_id)  # fmt: skip
        self.ledger.record({"event": "collected", "file": entry.file})

    def close(self) -> None:
        """Close open files (unrecorded: a later run drops them) and the store."""
        for opened in self._open.values():
            opened.handle.close()
        self._open.clear()
        self.store.close()
