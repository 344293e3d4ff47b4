"""Per-backend limits: options, request and token budgets, event-loop changes."""

from __future__ import annotations

import asyncio

import pytest

from evalkit.errors import ConfigError
from evalkit.generators.api.limits import CallLimits


def test_options_are_read_with_a_default_concurrency():
    limits = CallLimits.from_options({"requests_per_minute": 60, "tokens_per_minute": 1000.5}, "m", 8)
    assert (limits.max_concurrency, limits.requests_per_minute, limits.tokens_per_minute) == (8, 60.0, 1000.5)
    assert CallLimits.from_options({"max_concurrency": 3}, "m", 8).max_concurrency == 3


@pytest.mark.parametrize("options", [{"requests_per_minute": 0}, {"tokens_per_minute": -5},
                                     {"requests_per_minute": "fast"}, {"max_concurrency": 2.5}])  # fmt: skip
def test_bad_limits_are_config_errors(options):
    with pytest.raises(ConfigError, match="model 'm': option"):
        CallLimits.from_options(options, "m", 8)


async def test_requests_per_minute_admits_a_minutes_worth_then_holds_back():
    limits = CallLimits(4, requests_per_minute=3)
    for _ in range(3):
        assert limits.ready(1)
        await limits.admit(1)
    assert not limits.ready(1)


async def test_tokens_per_minute_counts_the_estimate_and_caps_huge_requests():
    limits = CallLimits(4, tokens_per_minute=1000)
    await limits.admit(700)
    assert limits.ready(300) and not limits.ready(400)  # the bucket drains at 1000/60 tokens a second
    fresh = CallLimits(4, tokens_per_minute=1000)
    await fresh.admit(50_000)  # larger than a minute's budget: admitted alone, not refused
    assert not fresh.ready(1)


async def test_unlimited_by_default():
    limits = CallLimits(2)
    for _ in range(1000):
        await limits.admit(10**6)
    assert limits.ready(10**6)


async def test_slots_bound_concurrency():
    limits = CallLimits(2)
    inside = 0
    peak = 0

    async def hold() -> None:
        nonlocal inside, peak
        async with limits.slot():
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            inside -= 1

    await asyncio.gather(*(hold() for _ in range(7)))
    assert peak == 2


def test_limits_work_across_event_loops():
    limits = CallLimits(1, requests_per_minute=100)

    async def once() -> None:
        async with limits.slot():
            await limits.admit(1)

    asyncio.run(once())
    asyncio.run(once())
