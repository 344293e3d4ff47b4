"""The retry policy on its own: Retry-After parsing, the backoff schedule, the retry loop."""

from __future__ import annotations

import email.utils
import random

import pytest

from evalkit.errors import ConfigError, GenerationError
from evalkit.generators.api.retry import (
    AttemptError,
    Failure,
    RetryPolicy,
    RetryStats,
    call_with_retries,
    is_retryable_status,
    parse_retry_after,
)


class Recorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def test_retry_after_seconds_milliseconds_and_dates():
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after({"Retry-After": "7"}) == 7.0
    assert parse_retry_after({"retry-after": "2.5"}) == 2.5
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"Retry-After": date}, now=lambda: now) == 30.0
    past = email.utils.formatdate(now - 100, usegmt=True)
    assert parse_retry_after({"Retry-After": past}, now=lambda: now) == 0.0
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None


@pytest.mark.parametrize(("status", "retryable"), [(408, True), (409, True), (429, True), (500, True),
                                                   (503, True), (529, True), (400, False), (401, False),
                                                   (403, False), (404, False), (422, False)])  # fmt: skip
def test_which_statuses_are_retried(status, retryable):
    assert is_retryable_status(status) is retryable


def test_backoff_is_exponential_with_bounded_jitter_and_a_cap():
    policy = RetryPolicy(initial_wait=1.0, multiplier=2.0, max_wait=5.0, jitter=0.25, rng=random.Random(3))
    replay = random.Random(3)
    waits = [policy.backoff(n) for n in range(1, 6)]
    bases = [1.0, 2.0, 4.0, 5.0, 5.0]
    assert waits == [b * (1 - 0.25 * replay.random()) for b in bases]
    for wait, base in zip(waits, bases, strict=True):
        assert 0.75 * base <= wait <= base
    assert waits[0] < waits[1] < waits[2]


def test_retry_after_replaces_backoff_and_is_capped():
    policy = RetryPolicy(max_retry_after=60.0)
    assert policy.wait_for(Failure("x", True, 429, retry_after=7.0), 5) == 7.0
    assert policy.wait_for(Failure("x", True, 429, retry_after=3600.0), 1) == 60.0


async def test_loop_retries_transient_failures_then_returns():
    sleep = Recorder()
    failures = [Failure("busy", True, 503), Failure("limited", True, 429, retry_after=4.0)]

    async def attempt() -> str:
        if failures:
            raise AttemptError(failures.pop(0))
        return "done"

    stats = RetryStats()
    policy = RetryPolicy(sleep=sleep, rng=random.Random(0), jitter=0.0)
    assert await call_with_retries(attempt, policy, label="m", stats=stats) == "done"
    assert sleep.waits == [1.0, 4.0]
    assert (stats.attempts, stats.retries, stats.gave_up, stats.waits) == (3, 2, 0, [1.0, 4.0])


async def test_loop_stops_at_once_on_a_permanent_failure():
    sleep = Recorder()
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        raise AttemptError(Failure("bad request", False, 400))

    with pytest.raises(GenerationError) as caught:
        await call_with_retries(attempt, RetryPolicy(sleep=sleep), label="m")
    assert (calls, sleep.waits) == (1, [])
    assert (caught.value.retryable, caught.value.status) == (False, 400)
    assert "gave up" not in str(caught.value)


async def test_loop_gives_up_after_the_last_attempt():
    sleep = Recorder()

    async def attempt() -> str:
        raise AttemptError(Failure("server error", True, 500))

    policy = RetryPolicy(max_attempts=3, jitter=0.0, sleep=sleep)
    with pytest.raises(GenerationError) as caught:
        await call_with_retries(attempt, policy, label="openai/x")
    assert sleep.waits == [1.0, 2.0]
    assert (caught.value.retryable, caught.value.status) == (True, 500)
    assert str(caught.value) == "openai/x: server error (gave up after 3 attempts)"


async def test_unknown_exceptions_are_not_retried():
    async def attempt() -> str:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await call_with_retries(attempt, RetryPolicy(sleep=Recorder()), label="m")


@pytest.mark.parametrize("options", [{"max_attempts": 0}, {"max_attempts": 2.5}, {"retry_initial_wait": -1},
                                     {"retry_max_wait": "long"}])  # fmt: skip
def test_bad_retry_options_are_config_errors(options):
    with pytest.raises(ConfigError, match="openai/x"):
        RetryPolicy.from_options(options, "openai/x")


def test_retry_options_are_read():
    policy = RetryPolicy.from_options(
        {"max_attempts": 2, "retry_initial_wait": 0.5, "retry_max_wait": 9}, "m"
    )
    assert (policy.max_attempts, policy.initial_wait, policy.max_wait) == (2, 0.5, 9.0)
