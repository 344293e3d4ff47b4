"""Why a connection failed, and when to stop calling an endpoint that is plainly gone.

The SDKs report a refused connection, a failed DNS lookup and a server that never answers
with one or two exception classes; the cause is in the exception chain. :func:`cause_of`
finds it so messages say what really happened. :class:`CircuitBreaker` counts failures
of the endpoint itself (refused, unknown host, timeouts) across all items: after
``threshold`` of them in a row with no answer in between, every further call fails at
once with :class:`~evalkit.errors.EndpointUnavailableError`, which stops the run (finished
items are kept; the same command resumes once the server is back).
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from typing import Literal

from evalkit.errors import EndpointUnavailableError

Cause = Literal["refused", "dns", "connect_timeout", "timeout", "dropped"]
ENDPOINT_CAUSES: frozenset[Cause] = frozenset({"refused", "dns", "connect_timeout", "timeout"})
"""Causes that say the endpoint itself is unreachable or hanging (a dropped connection does not)."""

DEFAULT_BREAKER_THRESHOLD = 5
_DNS_WORDS = ("name or service not known", "nodename nor servname", "temporary failure in name resolution",
              "getaddrinfo failed", "no address associated", "could not resolve host")  # fmt: skip


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def cause_of(exc: BaseException) -> Cause:
    """Classify a connection-level failure by looking through its exception chain."""
    chain = list(_chain(exc))
    names = " ".join(type(e).__name__.lower() for e in chain)
    texts = " ".join(str(e).lower() for e in chain)
    if (
        any(isinstance(e, socket.gaierror) for e in chain)
        or "dns" in names
        or any(w in texts for w in _DNS_WORDS)
    ):
        return "dns"
    refused = any(isinstance(e, ConnectionRefusedError) or getattr(e, "errno", None) == errno.ECONNREFUSED
                  for e in chain)  # fmt: skip
    if refused or "connection refused" in texts or "connect call failed" in texts:
        return "refused"
    if "connecttimeout" in names or "connectiontimeout" in names:
        return "connect_timeout"
    if "timeout" in names or "timed out" in texts:
        return "timeout"
    return "dropped"


def describe_cause(cause: Cause, where: str, timeout_s: float) -> str:
    """A sentence naming the cause and what to check."""
    return {
        "refused": f"{where} refused the connection (nothing listens there: is the server running?)",
        "dns": f"{where}: the host name could not be resolved (check the base URL and the network)",
        "connect_timeout": f"{where} could not be reached (connecting timed out; check address and firewall)",
        "timeout": f"{where} did not answer within {timeout_s:g}s (slow models: raise the option 'timeout')",
        "dropped": f"the connection to {where} broke before an answer arrived",
    }[cause]


class CircuitBreaker:
    """Opens after ``threshold`` endpoint failures in a row; any answer from the server closes it.

    Attributes:
        threshold: Consecutive endpoint failures that open it (0: never opens).
        failures: Consecutive endpoint failures so far.
        last: Description of the latest one.

    """

    def __init__(self, spec: str, threshold: int = DEFAULT_BREAKER_THRESHOLD) -> None:
        self.spec = spec
        self.threshold = threshold
        self.failures = 0
        self.last = ""

    @property
    def open(self) -> bool:
        """Whether calls are refused without trying."""
        return self.threshold > 0 and self.failures >= self.threshold

    def check(self) -> None:
        """Raise at once when open.

        Raises:
            EndpointUnavailableError: Naming the model, the cause and what to do.

        """
        if self.open:
            raise EndpointUnavailableError(
                f"{self.spec}: stopped calling it after {self.failures} failures in a row; "
                f"last: {self.last}. "
                "Finished items are saved: fix the endpoint, then run the same command again to resume"
            )

    def failed(self, cause: Cause, description: str) -> None:
        """Count one failed attempt; endpoint failures move it towards open, others do not."""
        if cause in ENDPOINT_CAUSES:
            self.failures += 1
            self.last = description
            self.check()

    def answered(self) -> None:
        """The server answered (even with an HTTP error): it is there."""
        self.failures = 0
