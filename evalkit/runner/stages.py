"""The three stages of a run: generate responses, judge pairs, grade responses.

Each stage resumes from its JSONL store: finished items are skipped, failed ones retried,
and every new record is appended the moment it exists. Per-item failures become records
with ``error`` set; configuration problems (missing key, missing package) stop the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Sequence, Set
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from evalkit.cache import CachedCaller
from evalkit.errors import (
    BudgetExceededError,
    ConfigError,
    EndpointUnavailableError,
    MissingDependencyError,
    MissingKeyError,
    RequestInBatch,
)
from evalkit.generators.base import Completion, CompletionRequest
from evalkit.judging.spec import JudgeSpec
from evalkit.records import Grade, Prompt, Response
from evalkit.runner.backends import CURRENT_STAGE
from evalkit.runner.meta import StageCounts
from evalkit.runner.progress import StageProgress
from evalkit.runner.rundir import Expectation, RecordStore

T = TypeVar("T")

FATAL_ERRORS: tuple[type[Exception], ...] = (
    ConfigError,
    MissingDependencyError,
    MissingKeyError,
    BudgetExceededError,
    EndpointUnavailableError,
    RequestInBatch,
)
"""Errors that are not about one item: they stop the item (and, except the budget, the run)."""


def item_key(record: Any) -> Hashable:
    """The work item a stored record belongs to: its key (per-turn grades share their item's)."""
    return record.item_key if isinstance(record, Grade) else record.key


def failed(record: Any) -> bool:
    """Whether a stored record failed (its item is redone)."""
    return getattr(record, "error", None) is not None


def describe_error(exc: BaseException) -> str:
    """A one-line description of a per-item failure, for the record and the report."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Preview(Protocol):
    """What an item's dry-run preview reports to (``evalkit.runner.plan.Planner``)."""

    def count(
        self, caller: CachedCaller, request: CompletionRequest, *, judge: JudgeSpec | None = None
    ) -> Completion | None:
        """Count one request as cached or as a call (and, for a judge, a possible re-ask)."""
        ...

    def response(self, prompt: Prompt, system: str, sample: int) -> Response:
        """The stored or simulated response, else a placeholder as long as the system's max_tokens."""
        ...

    def simulated(self, response: Response) -> None:
        """Remember a response the cache alone would produce."""
        ...


@dataclass(frozen=True)
class WorkItem:
    """One unit of a stage.

    Attributes:
        key: Resume key: the key of the record(s) it writes (``Grade.item_key`` for grades).
        fingerprint: What its records must carry to count as done.
        expected: How many records it writes when it succeeds.
        run: Produces its records (failures as records, never raised per item).
        preview: Reports the calls it would make, for ``--dry-run``.

    """

    key: Hashable
    fingerprint: str
    expected: int
    run: Callable[[], Awaitable[Sequence[Any]]]
    preview: Callable[[Preview], None]


async def run_stage(
    name: str,
    items: Sequence[WorkItem],
    store: RecordStore[Any],
    *,
    prompt_ids: Set[str],
    progress: StageProgress,
    hits: Callable[[], int],
    settle: Callable[[], Awaitable[None]] | None = None,
) -> tuple[list[Any], StageCounts]:
    """Run the items not already stored; append each item's records as soon as they exist.

    Stored records whose item is no longer asked for, or whose fingerprint no longer matches
    the item's, are set aside (``superseded``) and their items redone; records of prompts
    outside ``prompt_ids`` (not selected this time) stay stored, untouched. Items whose
    requests went into provider batches (RequestInBatch) are set aside; once a round is
    through, ``settle`` submits and collects those batches and the items run again, round
    after round (a dialogue's next turn, a judge's re-ask) until none waits.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    wanted = {item.key: Expectation(item.fingerprint, item.expected) for item in items}
    kept, superseded = store.resume(item_key, failed, wanted, lambda r: r.prompt_id in prompt_ids)
    done = {item_key(r) for r in kept}
    todo = [item for item in items if item.key not in done]
    result = StageCounts(name=name, total=len(items), resumed=len(items) - len(todo), superseded=superseded)
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
