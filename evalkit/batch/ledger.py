"""The batch ledger: every batch a run submits, recorded before and after submission.

``batches/ledger.jsonl`` in the run folder is append-only; each event is one line,
flushed and fsynced before the step it guards goes on, so a process killed at any point
leaves a ledger that says exactly how far each batch got:

- ``intent``: a request file is complete on disk and about to be submitted;
- ``submitted``: the provider accepted it under ``batch_id`` (found again by the metadata
  attached at submission when a kill came between the two);
- ``status``: the provider's state and counts changed;
- ``collected``: its results are stored in the run's request store;
- ``discarded``: a file never submitted was dropped (its requests go into a new file).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LEDGER_FILE = "ledger.jsonl"
TERMINAL = frozenset({"completed", "expired", "cancelled", "failed", "ended"})
"""Provider states after which a batch changes no more (OpenAI's words, and Anthropic's "ended")."""


@dataclass
class BatchEntry:
    """What the ledger knows about one request file and its batch.

    Attributes:
        file: The request file's name under ``batches/``.
        model: The model spec whose requests it holds.
        provider: "openai" or "anthropic".
        tag: A random tag, attached to the batch as metadata so a lost id can be found.
        requests: Number of requests in the file.
        size: Bytes in the file.
        estimate_usd: Estimated cost at batch prices.
        created_at: When the intent was recorded (Unix seconds).
        batch_id: The provider's id once known.
        status: The provider's last reported state ("intent" before submission).
        counts: The provider's last reported request counts.
        collected: Whether its results are stored.
        discarded: Whether the file was dropped unsubmitted.

    """

    file: str
    model: str
    provider: str
    tag: str
    requests: int
    size: int
    estimate_usd: float
    created_at: float
    batch_id: str | None = None
    status: str = "intent"
    counts: dict[str, int] = field(default_factory=dict)
    collected: bool = False
    discarded: bool = False

    @property
    def open(self) -> bool:
        """Submitted (or about to be) and not yet collected."""
        return not (self.collected or self.discarded)


class Ledger:
    """Append-only, fsynced JSONL of batch events, folded into one BatchEntry per file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / LEDGER_FILE
        folder.mkdir(parents=True, exist_ok=True)
        self.entries: dict[str, BatchEntry] = {}
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):  # the event a kill interrupted never happened
            with self.path.open("r+b") as handle:
                handle.truncate(data.rfind(b"\n") + 1)
            data = data[: data.rfind(b"\n") + 1]
        for line in data.splitlines():
            if line.strip():
                self._apply(json.loads(line))

    def _apply(self, event: dict[str, Any]) -> None:
        kind, name = event["event"], event["file"]
        if kind == "intent":
            fields = {k: v for k, v in event.items() if k not in {"event", "at"}}
            self.entries[name] = BatchEntry(**fields)
            return
        entry = self.entries[name]
        if kind == "submitted":
            entry.batch_id, entry.status = event["batch_id"], "submitted"
        elif kind == "status":
            entry.status, entry.counts = event["status"], dict(event["counts"])
        elif kind == "collected":
            entry.collected = True
        elif kind == "discarded":
            entry.discarded = True

    def record(self, event: dict[str, Any]) -> None:
        """Apply an event and make it durable before returning."""
        event = {**event, "at": time.time()}
        line = json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        self._apply(event)

    def intent(self, entry: BatchEntry) -> None:
        """Record that a complete request file is about to be submitted."""
        fields = {k: v for k, v in entry.__dict__.items() if k in INTENT_FIELDS}
        self.record({"event": "intent", **fields})

    def open_entries(self) -> list[BatchEntry]:
        """Entries submitted or about to be, not yet collected, oldest first."""
        return [e for e in self.entries.values() if e.open]


INTENT_FIELDS = ("file", "model", "provider", "tag", "requests", "size", "estimate_usd", "created_at")
