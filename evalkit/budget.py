"""``--dry-run`` and ``--max-cost``: count what the cache cannot answer, stop paying past a limit.

Both go through a :class:`~evalkit.cache.CachedCaller`, so work already done (cached)
is never counted or paid again, and a stopped run resumes where it left off.
"""

from __future__ import annotations

from collections.abc import Iterable

from evalkit.cache import CachedCaller
from evalkit.costs import CostMeter, budget_exceeded
from evalkit.errors import BudgetExceededError
from evalkit.generators.base import Completion, CompletionRequest


def tally_uncached(
    caller: CachedCaller, requests: Iterable[CompletionRequest], meter: CostMeter, *, stage: str
) -> int:
    """Dry run: count the requests the cache cannot answer and add their estimated cost to ``meter``.

    Each miss is estimated with :meth:`CostMeter.add_estimate` (prompt estimate in,
    ``max_tokens`` out, so an upper bound). Nothing is sent to the backend.

    Returns:
        How many calls a real run would make.

    """
    misses = 0
    for request in requests:
        if caller.lookup(request) is None:
            misses += 1
            meter.add_estimate(caller.generator.spec, request, stage=stage)
    return misses


class BudgetGuard:
    """Starts no new paid call once the estimated cost has passed ``max_cost``.

    Cached answers are always returned (they cost nothing). Calls already in flight when
    the limit is passed finish and are counted, so the total can exceed the limit by at
    most the cost of one call per concurrency slot.

    Attributes:
        meter: Where every finished call's usage is counted.
        max_cost: The limit in USD (None: no limit, calls are only counted).
        not_started: Calls refused because the limit had been passed.

    """

    def __init__(self, meter: CostMeter, max_cost: float | None) -> None:
        self.meter = meter
        self.max_cost = max_cost
        self.not_started = 0

    async def call(self, caller: CachedCaller, request: CompletionRequest, *, stage: str) -> Completion:
        """Answer from the cache, or make the call if the budget allows and count its cost.

        Raises:
            BudgetExceededError: The limit was passed before this call could start; record
                nothing for the item, so a resumed run makes the call.
            GenerationError: The call failed for good (from the generator).

        """
        cached = caller.lookup(request)
        if cached is not None:
            return cached
        if self.meter.exceeds(self.max_cost):
            self.not_started += 1
            raise BudgetExceededError(f"--max-cost ${self.max_cost} passed; call not started")
        completion = await caller(request)
        self.meter.add_completion(caller.generator.spec, completion, stage=stage)
        return completion

    def final_error(self) -> BudgetExceededError | None:
        """The error to report at the end of the run when calls were refused (None otherwise)."""
        if not self.not_started or self.max_cost is None:
            return None
        return budget_exceeded(self.meter, self.max_cost, self.not_started)
