"""What the HTTP API backends share: limits, retries, latency, SDK error mapping.

A subclass builds its SDK client (SDK retries off, so the policy here is the only one)
and implements ``_send`` for one attempt. This class holds one client per event loop
(its connection pool sized to ``max_concurrency``), admits each attempt through the
rate limits, retries what can succeed later, and turns SDK exceptions into
:class:`~evalkit.generators.api.retry.Failure` values with messages that say what to do.
"""

from __future__ import annotations

import asyncio
import json
import time
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from types import ModuleType
from typing import Any, ClassVar

from evalkit.generators.api.endpoint import CircuitBreaker, cause_of, describe_cause
from evalkit.generators.api.limits import CallLimits
from evalkit.generators.api.logprob_support import LogprobSupport
from evalkit.generators.api.redaction import header_secrets, install_log_redaction, scrub, url_secrets
from evalkit.generators.api.retry import (
    AttemptError,
    Failure,
    RetryPolicy,
    RetryStats,
    call_with_retries,
    is_retryable_status,
    parse_retry_after,
)
from evalkit.generators.api.support import DETAIL_CHARS, MalformedResponseError, error_detail, status_message
from evalkit.generators.base import Completion, CompletionRequest, Generator, check_concurrency
from evalkit.generators.options import ApiOptions, parse_options
from evalkit.generators.tokens import estimate_request_tokens

DEFAULT_TIMEOUT_S = 120.0
TIMEOUT_ATTEMPTS = 2
"""Attempts of one request that may time out: a hanging server costs two timeouts, not six."""
LOGPROB_REFUSALS = frozenset({400, 422, 500, 501})
"""Statuses with which servers without log-probability support answer a request for them."""


class ApiGenerator(Generator):
    """Base for generators that call a model over HTTP through a provider SDK.

    A concurrency slot is held for one attempt only, never while waiting to retry, so a
    failing endpoint does not keep other requests out. After a timeout the request is
    tried once more at most (a hanging server would otherwise cost every retry's full
    timeout); endpoint failures across all requests feed a :class:`CircuitBreaker`.

    Attributes:
        limits: Concurrency and per-minute limits.
        policy: Retry policy.
        stats: Retry counters.
        breaker: Stops calling an endpoint that is plainly gone.
        timeout_s: Seconds before one attempt times out.
        transport: The ``http_transport`` option: "auto", "aiohttp" or "httpx".
        base_url: Where requests go (None: the SDK's default); never shown unredacted.
        headers: Extra headers sent with every request (never shown unredacted).

    """

    provider_label = "API"
    Options: ClassVar[type[ApiOptions]] = ApiOptions

    def __init__(
        self,
        spec: str,
        options: Mapping[str, Any] | ApiOptions,
        *,
        default_concurrency: int,
        key_env: str | None,
    ) -> None:
        install_log_redaction()
        self.options = parse_options(self.Options, spec, options)
        self.limits = CallLimits.from_parsed(self.options, default_concurrency)
        super().__init__(spec, max_concurrency=self.limits.max_concurrency)
        self.policy = RetryPolicy(
            max_attempts=self.options.max_attempts,
            initial_wait=float(self.options.retry_initial_wait),
            max_wait=float(self.options.retry_max_wait),
        )
        self.stats = RetryStats()
        self.breaker = CircuitBreaker(spec, self.options.circuit_breaker)
        self.timeout_s = float(self.options.timeout)
        self.transport = self.options.http_transport
        self.base_url: str | None = None
        self.headers = dict(self.options.headers)
        self.key_env = key_env
        self.logprobs = LogprobSupport(spec)
        self._secret: str | None = None
        self._client: Any = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    @property
    def max_concurrency(self) -> int:
        """Requests in flight at once (the limits' slots)."""
        return self.limits.max_concurrency

    @max_concurrency.setter
    def max_concurrency(self, value: int) -> None:
        self.limits.max_concurrency = check_concurrency(self.spec, value)

    @property
    @abstractmethod
    def sdk(self) -> ModuleType:
        """The imported SDK module (its exception classes are used to classify failures)."""

    @abstractmethod
    def _make_client(self) -> Any:
        """Build an SDK client with ``max_retries=0``, ``timeout_s`` and a pool of ``max_concurrency``."""

    @abstractmethod
    async def _send(self, client: Any, request: CompletionRequest) -> Completion:
        """Make one attempt with the SDK and parse the result (latency is filled in here)."""

    def client(self) -> Any:
        """The SDK client for the running event loop (a new loop gets a new client)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client, self._client_loop = self._make_client(), loop
        return self._client

    async def complete(self, request: CompletionRequest) -> Completion:
        """Complete one request within the limits, retrying what can succeed later.

        Raises:
            GenerationError: The request failed for good; ``retryable`` and ``status`` say why.
            EndpointUnavailableError: The endpoint failed too often in a row; the run should stop.

        """
        return await self.complete_limited(request)

    async def complete_limited(
        self, request: CompletionRequest, admit: Callable[[CompletionRequest], None] | None = None
    ) -> Completion:
        """``complete``, with ``admit`` run once, when the first attempt gets its slot."""
        attempt = _Attempt(request, admit)
        return await call_with_retries(
            lambda: self._attempt(attempt), self.policy, label=self.spec, stats=self.stats
        )

    async def complete_many(self, requests: Sequence[CompletionRequest]) -> list[Completion | BaseException]:
        """Complete many requests concurrently (``complete`` enforces the limits)."""
        return list(await asyncio.gather(*(self.complete(r) for r in requests), return_exceptions=True))

    async def _attempt(self, attempt: _Attempt) -> Completion:
        self.breaker.check()
        async with self.limits.slot():
            attempt.admitted()
            await self.limits.admit(estimate_request_tokens(attempt.request))
            started = time.perf_counter()
            try:
                completion = await self.logprobs.send(
                    self._send, self.client(), attempt.request, self._refuses
                )
            except AttemptError:
                raise
            except Exception as exc:
                raise AttemptError(self._failure(exc, attempt)) from exc
        self.breaker.answered()
        return completion.model_copy(update={"latency_s": time.perf_counter() - started})

    def _failure(self, exc: Exception, attempt: _Attempt) -> Failure:
        failure = self.classify(exc)
        if failure is None:
            raise exc
        if failure.cause is None:
            self.breaker.answered()
            return failure
        self.breaker.failed(failure.cause, failure.message)
        if failure.cause == "timeout":
            attempt.timeouts += 1
            if attempt.timeouts >= TIMEOUT_ATTEMPTS:
                return replace(
                    failure, retryable=False, message=f"{failure.message}, {attempt.timeouts} times"
                )
        return failure

    def _refuses(self, exc: Exception) -> bool:
        """Whether an error may be a server refusing log-probabilities (checked by retrying without)."""
        sdk = self.sdk
        return isinstance(exc, sdk.APIStatusError) and int(exc.status_code) in LOGPROB_REFUSALS

    def classify(self, exc: BaseException) -> Failure | None:
        """Describe an SDK exception as a Failure; None for exceptions that are bugs, not failures."""
        sdk = self.sdk
        if isinstance(exc, sdk.APIStatusError):
            status = int(exc.status_code)
            detail = self._redact(error_detail(exc))[:DETAIL_CHARS]
            message = status_message(status, detail, provider=self.provider_label, key_env=self.key_env)
            return Failure(
                message, is_retryable_status(status), status, parse_retry_after(exc.response.headers)
            )
        if isinstance(exc, sdk.APIConnectionError):  # timeouts included (a subclass)
            # The exception chain says what happened: some transports report a refused
            # connection as a connect timeout, which the SDK turns into APITimeoutError.
            cause = cause_of(exc)
            if cause == "dropped" and isinstance(exc, sdk.APITimeoutError):
                cause = "timeout"
            message = describe_cause(cause, self.provider_label, self.timeout_s)
            return Failure(self._redact(message), True, cause=cause)
        if isinstance(exc, sdk.APIResponseValidationError | json.JSONDecodeError | MalformedResponseError):
            return Failure(
                f"{self.provider_label} sent an unreadable response: {self._redact(str(exc))}", True
            )
        return None

    def _redact(self, text: str) -> str:
        """``text`` without the key, nor any credential in the base URL or the headers."""
        secrets = [self._secret or "", *url_secrets(self.base_url), *header_secrets(self.headers)]
        return scrub(text, secrets)

    async def aclose(self) -> None:
        """Close the SDK client. Safe to call twice.

        A client made on another (finished) event loop is dropped, not closed: its
        connections died with that loop.
        """
        client, self._client = self._client, None
        if client is not None and self._client_loop is asyncio.get_running_loop():
            await client.close()


class _Attempt:
    """One request across its attempts: admitted once, its timeouts counted."""

    def __init__(self, request: CompletionRequest, admit: Callable[[CompletionRequest], None] | None) -> None:
        self.request = request
        self.timeouts = 0
        self._admit = admit

    def admitted(self) -> None:
        if self._admit is not None:
            admit, self._admit = self._admit, None
            admit(self.request)
