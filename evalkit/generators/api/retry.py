"""Retry policy for model APIs: which failures to retry and how long to wait.

Retried: HTTP 408, 409, 429 and every 5xx (529 "overloaded" included), timeouts,
dropped connections and unreadable responses. Not retried: other 4xx (bad key, bad
request, unknown model), which cannot succeed by waiting. Waits grow exponentially with
jitter; a server's Retry-After (seconds or an HTTP date) or retry-after-ms header replaces
the computed wait. The policy's ``sleep`` and ``rng`` are injectable so the schedule can
be observed without waiting.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from evalkit.errors import GenerationError
from evalkit.generators.api.endpoint import Cause
from evalkit.generators.options import api_fields

T = TypeVar("T")
LOG = logging.getLogger("evalkit.generators")

RETRYABLE_STATUSES = frozenset({408, 409, 429})
"""4xx statuses that may succeed later; every 5xx is retried too."""


@dataclass(frozen=True)
class Failure:
    """One failed attempt, described independently of the SDK that raised it.

    Attributes:
        message: What went wrong and what to do about it.
        retryable: Whether waiting and trying again can help.
        status: The HTTP status, when there was a response.
        retry_after: Seconds the server asked us to wait, when it said.
        cause: For failures without an answer: refused, dns, connect_timeout, timeout, dropped.

    """

    message: str
    retryable: bool
    status: int | None = None
    retry_after: float | None = None
    cause: Cause | None = None


class AttemptError(Exception):
    """Raised by one attempt; carries its :class:`Failure` to the retry loop."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def is_retryable_status(status: int) -> bool:
    """True for statuses worth retrying: 408, 409, 429 and all 5xx (529 included)."""
    return status in RETRYABLE_STATUSES or status >= 500


def parse_retry_after(headers: Mapping[str, str], now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date); None if absent."""
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = _as_float(lowered.get("retry-after-ms"))
    if millis is not None:
        return max(millis / 1000, 0.0)
    value = lowered.get("retry-after")
    if value is None:
        return None
    seconds = _as_float(value)
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now(), 0.0)


def _as_float(value: str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts to make and how long to wait between them.

    Attributes:
        max_attempts: Attempts in all, the first included.
        initial_wait: Seconds before the first retry (before jitter).
        multiplier: Growth of the wait per retry.
        max_wait: Cap on the computed wait.
        jitter: Fraction of the wait removed at random, so clients spread out.
        max_retry_after: Cap on a server-requested wait.
        sleep: Awaited with each wait; tests inject a recorder.
        rng: Source of jitter.

    """

    max_attempts: int = 6
    initial_wait: float = 1.0
    multiplier: float = 2.0
    max_wait: float = 60.0
    jitter: float = 0.25
    max_retry_after: float = 300.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def from_options(cls, options: Mapping[str, Any], spec: str) -> RetryPolicy:
        """Read ``max_attempts``, ``retry_initial_wait`` and ``retry_max_wait`` from model options.

        Raises:
            ConfigError: A value is out of range; the message names the model and option.

        """
        parsed = api_fields(options, spec)
        return cls(
            max_attempts=parsed.max_attempts,
            initial_wait=float(parsed.retry_initial_wait),
            max_wait=float(parsed.retry_max_wait),
        )

    def backoff(self, retry_number: int) -> float:
        """Computed wait before retry ``retry_number`` (1-based), jitter applied."""
        base = min(self.max_wait, self.initial_wait * self.multiplier ** (retry_number - 1))
        return base * (1.0 - self.jitter * self.rng.random())

    def wait_for(self, failure: Failure, retry_number: int) -> float:
        """The wait before the next attempt: the server's Retry-After when given, else backoff."""
        if failure.retry_after is not None:
            return min(failure.retry_after, self.max_retry_after)
        return self.backoff(retry_number)


@dataclass
class RetryStats:
    """Counters a backend keeps so retries are observable (run summaries, tests).

    Attributes:
        attempts: Attempts started.
        retries: Attempts that were retried after a failure.
        gave_up: Requests that failed for good.
        waits: Seconds waited before each retry, in order (the last 1,000).

    """

    attempts: int = 0
    retries: int = 0
    gave_up: int = 0
    waits: list[float] = field(default_factory=list)

    def record_wait(self, seconds: float) -> None:
        """Count one retry and its wait."""
        self.retries += 1
        self.waits.append(seconds)
        del self.waits[:-1000]


def _failure_of(state: RetryCallState) -> Failure:
    assert state.outcome is not None
    error = state.outcome.exception()
    assert isinstance(error, AttemptError)
    return error.failure


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    label: str,
    stats: RetryStats | None = None,
) -> T:
    """Run ``attempt`` until it succeeds, fails for good, or runs out of attempts.

    ``attempt`` raises :class:`AttemptError` for failures it understands; anything else
    propagates at once. Waits go through ``policy.sleep``.

    Raises:
        GenerationError: After a non-retryable failure or the last attempt, carrying
            ``retryable`` and ``status`` from the last failure.

    """
    stats = stats if stats is not None else RetryStats()

    def wait(state: RetryCallState) -> float:
        return policy.wait_for(_failure_of(state), state.attempt_number)

    def before_sleep(state: RetryCallState) -> None:
        seconds = state.upcoming_sleep
        stats.record_wait(seconds)
        LOG.warning(
            "%s: %s; retry %d in %.2fs", label, _failure_of(state).message, state.attempt_number, seconds
        )

    retrying = AsyncRetrying(
        sleep=policy.sleep,
        stop=stop_after_attempt(policy.max_attempts),
        wait=wait,
        retry=retry_if_exception(lambda e: isinstance(e, AttemptError) and e.failure.retryable),
        before_sleep=before_sleep,
        reraise=True,
    )
    tries = 0
    try:
        async for round_ in retrying:
            with round_:
                tries += 1
                stats.attempts += 1
                return await attempt()
    except AttemptError as exc:
        stats.gave_up += 1
        suffix = f" (gave up after {tries} attempts)" if exc.failure.retryable else ""
        raise GenerationError(
            f"{label}: {exc.failure.message}{suffix}",
            retryable=exc.failure.retryable,
            status=exc.failure.status,
        ) from exc
    raise AssertionError("unreachable: tenacity either returns or raises")
