"""Per-backend limits: requests in flight, requests per minute, tokens per minute.

Options (all optional): ``max_concurrency`` (requests in flight, default per provider),
``requests_per_minute`` and ``tokens_per_minute``. Token admission uses the estimate
the providers' own limiters use: prompt tokens plus ``max_tokens``
(evalkit.generators.tokens). Every attempt, retries included, is
admitted, since providers count those too.

asyncio primitives belong to one event loop; the limits rebuild them when used from a
new loop (sync wrappers run one loop per call).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from aiolimiter import AsyncLimiter

from evalkit.generators.options import ApiOptions, api_fields


class CallLimits:
    """Concurrency and rate limits shared by every call to one backend.

    Attributes:
        max_concurrency: Requests in flight at once.
        requests_per_minute: Request starts allowed per minute (None: unlimited).
        tokens_per_minute: Estimated tokens allowed per minute (None: unlimited).

    """

    def __init__(
        self,
        max_concurrency: int,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
    ) -> None:
        self.max_concurrency = max_concurrency
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots = asyncio.Semaphore(max_concurrency)
        self._requests: AsyncLimiter | None = None
        self._tokens: AsyncLimiter | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any], spec: str, default_concurrency: int) -> CallLimits:
        """Read ``max_concurrency``, ``requests_per_minute`` and ``tokens_per_minute``.

        Raises:
            ConfigError: A value is not a positive number.

        """
        return cls.from_parsed(api_fields(options, spec), default_concurrency)

    @classmethod
    def from_parsed(cls, options: ApiOptions, default_concurrency: int) -> CallLimits:
        """The limits validated options describe (``default_concurrency`` when they set none)."""
        rpm, tpm = options.requests_per_minute, options.tokens_per_minute
        return cls(
            options.max_concurrency or default_concurrency,
            None if rpm is None else float(rpm),
            None if tpm is None else float(tpm),
        )

    def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is self._loop:
            return
        self._loop = loop
        self._slots = asyncio.Semaphore(self.max_concurrency)
        rpm, tpm = self.requests_per_minute, self.tokens_per_minute
        self._requests = None if rpm is None else AsyncLimiter(rpm, 60)
        self._tokens = None if tpm is None else AsyncLimiter(tpm, 60)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the ``max_concurrency`` slots (across retries and their waits)."""
        self._bind()
        async with self._slots:
            yield

    def ready(self, estimated_tokens: int) -> bool:
        """True when a request of about ``estimated_tokens`` would be admitted without waiting."""
        self._bind()
        tokens = self._tokens
        fits_tokens = tokens is None or tokens.has_capacity(min(float(estimated_tokens), tokens.max_rate))
        return fits_tokens and (self._requests is None or self._requests.has_capacity())

    async def admit(self, estimated_tokens: int) -> None:
        """Wait until one more request of about ``estimated_tokens`` fits the per-minute limits."""
        self._bind()
        if self._requests is not None:
            await self._requests.acquire()
        if self._tokens is not None:
            # A request larger than a whole minute's budget may still go alone.
            await self._tokens.acquire(min(float(estimated_tokens), self._tokens.max_rate))
