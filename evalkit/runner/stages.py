"""The three stages of a run: generate responses, judge pairs, grade responses.

Each stage resumes from its JSONL store: finished items are skipped, failed ones retried,
and every new record is appended the moment it exists. Per-item failures become records
with ``error`` set; configuration problems (missing key, missing package) stop the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from evalkit.errors import (
    BudgetExceededError,
    ConfigError,
    MissingDependencyError,
    MissingKeyError,
    RequestInBatch,
)
from evalkit.runner.backends import CURRENT_STAGE
from evalkit.runner.progress import StageProgress
from evalkit.runner.rundir import RecordStore

T = TypeVar("T")

FATAL_ERRORS: tuple[type[Exception], ...] = (
    ConfigError,
    MissingDependencyError,
    MissingKeyError,
    BudgetExceededError,
    RequestInBatch,
)
"""Errors that are not about one item: they stop the item (and, except the budget, the run)."""


def describe_error(exc: BaseException) -> str:
    """A one-line description of a per-item failure, for the record and the report."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass
class StageResult:
    """What a stage did: counts for run.json and the closing summary."""

    name: str
    total: int = 0
    resumed: int = 0
    new: int = 0
    errors: int = 0
    not_started: int = 0
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkItem:
    """One unit of a stage: its resume key and the coroutine factory that produces its records."""

    key: Hashable
    run: Callable[[], Awaitable[Sequence[Any]]]


async def run_stage(
    name: str,
    items: Sequence[WorkItem],
    store: RecordStore[Any],
    *,
    item_key: Callable[[Any], Hashable],
    failed: Callable[[Any], bool],
    progress: StageProgress,
    hits: Callable[[], int],
    settle: Callable[[], Awaitable[None]] | None = None,
) -> tuple[list[Any], StageResult]:
    """Run the items not already stored; append each item's records as soon as they exist.

    Items whose requests went into provider batches (RequestInBatch) are set aside; once a
    round is through, ``settle`` submits and collects those batches and the items run
    again, round after round (a dialogue's next turn, a judge's re-ask) until none waits.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    kept = store.resume(item_key, failed)
    done = {item_key(r) for r in kept}
    todo = [item for item in items if item.key not in done]
    result = StageResult(name=name, total=len(items), resumed=len(items) - len(todo))
    progress.stage(name, len(items), done=result.resumed)
    hits_before = hits()
    new_records: list[Any] = []
    waiting: list[WorkItem] = []

    async def finish(item: WorkItem) -> None:
        try:
            records = list(await item.run())
        except BudgetExceededError:
            result.not_started += 1  # left for the resumed run; nothing is written
            return
        except RequestInBatch:
            waiting.append(item)  # runs again once its batch is back; nothing is written
            return
        store.append(records)
        new_records.extend(records)
        result.new += 1
        result.errors += sum(1 for r in records if failed(r))
        progress.advance(name, hits=hits() - hits_before, errors=result.errors)

    CURRENT_STAGE.set(name)
    while todo:
        await _run_round(todo, finish)
        if not waiting:
            break
        if settle is None:
            raise ConfigError(f"stage {name}: requests went into batches but nothing collects them")
        await settle()
        todo, waiting = list(waiting), []
    result.seconds = loop.time() - started
    result.extra["cache_hits"] = hits() - hits_before
    return kept + new_records, result


async def _run_round(
    items: Sequence[WorkItem], finish: Callable[[WorkItem], Coroutine[Any, Any, None]]
) -> None:
    try:
        async with asyncio.TaskGroup() as group:
            for item in items:
                group.create_task(finish(item))
    except ExceptionGroup as failure:
        # Items catch their own failures; what escapes is fatal (bad key, missing package).
        raise failure.exceptions[0] from None
