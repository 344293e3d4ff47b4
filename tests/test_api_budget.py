"""Dry-run tallies and the --max-cost guard, on the offline fake backend with a made-up price."""

from __future__ import annotations

import pytest

from evalkit.budget import BudgetGuard, tally_uncached
from evalkit.cache import CachedCaller, ResponseCache
from evalkit.costs import CostMeter, PriceTable
from evalkit.errors import BudgetExceededError
from evalkit.generators.base import CompletionRequest, SamplingParams
from evalkit.generators.registry import create_generator
from evalkit.records import Message

# One dollar per prompt token and nothing per output token keeps the arithmetic by hand.
PRICES = PriceTable.from_config({"fake/echo": {"input": 1_000_000, "output": 0}})


def ask(text: str, max_tokens: int = 8) -> CompletionRequest:
    return CompletionRequest(
        messages=(Message(role="user", content=text),), params=SamplingParams(max_tokens=max_tokens)
    )


async def test_dry_run_counts_only_what_the_cache_cannot_answer(tmp_path):
    cache = ResponseCache(tmp_path / "cache.sqlite")
    done = [ask("one two"), ask("three")]
    await CachedCaller(create_generator("fake/echo"), cache).complete_many(done)
    generator = create_generator("fake/echo")
    caller = CachedCaller(generator, cache)
    todo = [ask("x" * 40, max_tokens=10), ask("y" * 8, max_tokens=20)]
    meter = CostMeter(PRICES)
    assert tally_uncached(caller, done + todo, meter, stage="generate") == 2
    # ceil(40 / 4) + 4 and ceil(8 / 4) + 4 prompt tokens, at $1 each; output is free here.
    assert meter.total_usd == pytest.approx(14 + 6)
    assert meter.by_stage["generate"].completion_tokens == 30
    assert caller.calls == 0 and generator.calls == 0  # type: ignore[attr-defined]


async def test_max_cost_stops_starting_calls_but_serves_the_cache(tmp_path):
    generator = create_generator("fake/echo")
    caller = CachedCaller(generator, ResponseCache(tmp_path / "cache.sqlite"))
    guard = BudgetGuard(CostMeter(PRICES), max_cost=5.0)
    first = await guard.call(caller, ask("a b"), stage="generate")  # "user: a b" -> 3 prompt tokens, $3
    await guard.call(caller, ask("c d"), stage="generate")  # $6 in all: the limit is now passed
    with pytest.raises(BudgetExceededError):
        await guard.call(caller, ask("e f"), stage="generate")
    assert await guard.call(caller, ask("a b"), stage="generate") == first  # cached: still answered
    assert (generator.calls, guard.not_started, guard.meter.total_usd) == (2, 1, pytest.approx(6.0))  # type: ignore[attr-defined]
    error = guard.final_error()
    assert error is not None and "1 call(s) were not started" in str(error) and "$5.0000" in str(error)


async def test_without_a_limit_calls_are_only_counted(tmp_path):
    caller = CachedCaller(create_generator("fake/echo"), None)
    guard = BudgetGuard(CostMeter(PRICES), max_cost=None)
    for word in ("a", "b", "c"):
        await guard.call(caller, ask(word), stage="judge")
    assert guard.final_error() is None
    assert guard.meter.by_stage["judge"].calls == 3
