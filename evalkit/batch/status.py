"""``evalkit batches RUN_DIR``: each batch of a run, its state, counts and estimated cost.

Read from the run's batch ledger, as last seen by the process that polled it; nothing is
called and no key is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evalkit.batch.ledger import LEDGER_FILE, BatchEntry, Ledger
from evalkit.errors import ConfigError


@dataclass(frozen=True)
class BatchRow:
    """One line of the table."""

    file: str
    model: str
    batch_id: str
    state: str
    requests: int
    counts: str
    estimate_usd: float


def _state(entry: BatchEntry) -> str:
    if entry.discarded:
        return "discarded"
    if entry.collected:
        return f"collected ({entry.status})"
    return "written, not submitted" if entry.batch_id is None else entry.status


def batch_rows(run_dir: Path) -> list[BatchRow]:
    """The run's batches, oldest first.

    Raises:
        ConfigError: The folder has no batch ledger.

    """
    folder = run_dir / "batches"
    if not (folder / LEDGER_FILE).exists():
        raise ConfigError(f"{run_dir} has no batches (no batches/{LEDGER_FILE}); run with --batch first")
    ledger = Ledger(folder)
    return [
        BatchRow(
            file=e.file,
            model=e.model,
            batch_id=e.batch_id or "-",
            state=_state(e),
            requests=e.requests,
            counts=", ".join(f"{k} {v}" for k, v in sorted(e.counts.items())) or "-",
            estimate_usd=e.estimate_usd,
        )
        for e in sorted(ledger.entries.values(), key=lambda e: e.created_at)
    ]


def summary_line(rows: list[BatchRow]) -> str:
    """Totals: batches, how many still open, requests, estimated cost."""
    open_count = sum(1 for r in rows if not r.state.startswith(("collected", "discarded")))
    total = sum(r.estimate_usd for r in rows)
    requests = sum(r.requests for r in rows)
    return (
        f"{len(rows)} batch(es), {open_count} not yet collected, {requests} requests, "
        f"estimated ${total:.4f} at batch prices"
    )
