"""What the HTTP API backends share: limits, retries, latency, SDK error mapping.

A subclass builds its SDK client (SDK retries off, so the policy here is the only one)
and implements ``_send`` for one attempt. This class holds one client per event loop
(its connection pool sized to ``max_concurrency``), admits each attempt through the
rate limits, retries what can succeed later, and turns SDK exceptions into
:class:`~evalkit.generators.http_retry.Failure` values with messages that say what to do.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import os
import time
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from evalkit.costs import estimate_request_tokens
from evalkit.errors import ConfigError, MissingDependencyError, MissingKeyError
from evalkit.generators.base import Completion, CompletionRequest, Generator
from evalkit.generators.http_retry import (
    AttemptError,
    Failure,
    RetryPolicy,
    RetryStats,
    call_with_retries,
    is_retryable_status,
    parse_retry_after,
)
from evalkit.generators.limits import CallLimits
from evalkit.generators.redaction import header_secrets, install_log_redaction, scrub, url_secrets
from evalkit.generators.redaction import redact_url as redact_url  # re-exported for older imports

DEFAULT_TIMEOUT_S = 120.0
DETAIL_CHARS = 300
FINISH_REASONS = {
    "length": "length",
    "max_tokens": "length",
    "model_length": "length",
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "eos": "stop",
}
"""Provider finish reasons mapped to evalkit's; others ("content_filter", "tool_calls") pass through."""


def normalise_finish(reason: str | None) -> str:
    """Map a provider's finish reason to "stop" / "length" / the provider's own word."""
    if reason is None:
        return "unknown"
    return FINISH_REASONS.get(reason, reason)


def check_options(spec: str, options: Mapping[str, Any], known: frozenset[str]) -> None:
    """Reject keys in options (they would be written to run.json) and unknown option names."""
    if "api_key" in options:
        raise ConfigError(
            f"model {spec!r}: do not put an API key in the config (it would be saved with the run); "
            "put it in an environment variable and name that variable with the option api_key_env"
        )
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(
            f"model {spec!r}: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )


def key_from_env(env_var: str, provider: str) -> str:
    """The key in ``env_var``, or MissingKeyError naming the variable."""
    key = os.environ.get(env_var, "").strip()
    if not key:
        raise MissingKeyError(env_var, provider)
    return key


def transport_module(sdk: ModuleType) -> Any:
    """The HTTP library an SDK is built on (httpx or a successor), for its Limits class."""
    base = sdk.DefaultAsyncHttpxClient.__mro__[1]
    return importlib.import_module(base.__module__.partition(".")[0])


TRANSPORTS = ("auto", "aiohttp", "httpx")


def sdk_http_client(sdk: ModuleType, generator: ApiGenerator) -> Any:
    """An HTTP client for the SDK with one kept-alive connection per concurrency slot.

    The option ``http_transport`` picks it: "aiohttp" is the SDK's aiohttp-backed client,
    which the SDKs recommend for concurrency (about a third less client CPU per request
    than the default pool at 32 connections; ``pip install 'evalkit[api]'``), "httpx" the
    SDK's default client, and "auto" (the default) aiohttp when installed and the base URL
    carries no user:password (only the default client sends those as basic credentials).
    """
    size = generator.max_concurrency
    transport = transport_module(sdk)
    install_log_redaction(transport.__name__)  # it logs every request's full URL at INFO
    limits = transport.Limits(max_connections=size, max_keepalive_connections=size)
    if _use_aiohttp(sdk, generator.transport, generator.base_url):
        return sdk.DefaultAioHttpClient(limits=limits, timeout=generator.timeout_s)
    return sdk.DefaultAsyncHttpxClient(limits=limits, timeout=generator.timeout_s)


def _use_aiohttp(sdk: ModuleType, transport: str, base_url: str | None) -> bool:
    installed = hasattr(sdk, "DefaultAioHttpClient") and importlib.util.find_spec("aiohttp") is not None
    if transport == "aiohttp" and not installed:
        raise MissingDependencyError("aiohttp", "api", "http_transport: aiohttp")
    plain_url = base_url is None or urlsplit(base_url).username is None
    return transport == "aiohttp" or (transport == "auto" and installed and plain_url)


def status_message(status: int, detail: str, *, provider: str, key_env: str | None) -> str:
    """A message for an HTTP error that says what to do next."""
    key_hint = f" in the environment variable {key_env}" if key_env else ""
    hints = {
        400: "the request was rejected as invalid; fix the parameters or the prompt",
        401: f"the API key{key_hint} was rejected; set a valid key there",
        403: f"the API key{key_hint} is not allowed to use this model or endpoint",
        404: "not found; check the model name and the base URL",
        413: "the request is too large; shorten the prompt",
        422: "the request was rejected as unprocessable; fix the parameters",
        429: "rate limited",
        529: "the service is overloaded",
    }
    hint = hints.get(status, "server error" if status >= 500 else "request failed")
    return f"{provider} answered HTTP {status}: {hint}. Server said: {detail}"


class ApiGenerator(Generator):
    """Base for generators that call a model over HTTP through a provider SDK.

    Attributes:
        limits: Concurrency and per-minute limits.
        policy: Retry policy.
        stats: Retry counters.
        timeout_s: Seconds before one attempt times out (and is retried).
        transport: The ``http_transport`` option: "auto", "aiohttp" or "httpx".
        base_url: Where requests go (None: the SDK's default); never shown unredacted.

    """

    provider_label = "API"

    def __init__(
        self, spec: str, options: Mapping[str, Any], *, default_concurrency: int, key_env: str | None
    ) -> None:
        install_log_redaction()
        limits = CallLimits.from_options(options, spec, default_concurrency)
        super().__init__(spec, max_concurrency=limits.max_concurrency)
        self.limits = limits
        self.policy = RetryPolicy.from_options(options, spec)
        self.stats = RetryStats()
        self.timeout_s = float(options.get("timeout", DEFAULT_TIMEOUT_S))
        self.transport = str(options.get("http_transport", "auto"))
        if self.transport not in TRANSPORTS:
            raise ConfigError(f"model {spec!r}: option http_transport must be one of {', '.join(TRANSPORTS)}")
        self.base_url: str | None = None
        self.headers = _headers(options, spec)
        self.key_env = key_env
        self._secret: str | None = None
        self._client: Any = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

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

        """
        async with self.limits.slot():
            return await call_with_retries(
                lambda: self._attempt(request), self.policy, label=self.spec, stats=self.stats
            )

    async def complete_many(self, requests: Sequence[CompletionRequest]) -> list[Completion | BaseException]:
        """Complete many requests concurrently (``complete`` enforces the limits)."""
        return list(await asyncio.gather(*(self.complete(r) for r in requests), return_exceptions=True))

    async def _attempt(self, request: CompletionRequest) -> Completion:
        await self.limits.admit(estimate_request_tokens(request))
        client = self.client()
        started = time.perf_counter()
        try:
            completion = await self._send(client, request)
        except AttemptError:
            raise
        except Exception as exc:
            failure = self.classify(exc)
            if failure is None:
                raise
            raise AttemptError(failure) from exc
        return completion.model_copy(update={"latency_s": time.perf_counter() - started})

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
        if isinstance(exc, sdk.APITimeoutError):
            return Failure(f"{self.provider_label} did not answer within {self.timeout_s:g}s", True)
        if isinstance(exc, sdk.APIConnectionError):
            cause = exc.__cause__ or exc
            return Failure(f"connection to {self.provider_label} failed: {self._redact(repr(cause))}", True)
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


def split_query(url: str | None) -> tuple[str | None, dict[str, str] | None]:
    """A base URL without its query string, and that query as the SDKs' ``default_query``.

    The SDKs append endpoint paths to the base URL as text, which would land after a query
    string (``/v1?api-key=...`` + ``/chat/completions``); gateways that take keys in the query
    still get them on every request this way.
    """
    if url is None or "?" not in url:
        return url, None
    base, _, query = url.partition("?")
    return base, dict(parse_qsl(query, keep_blank_values=True))


def _headers(options: Mapping[str, Any], spec: str) -> dict[str, str]:
    headers = options.get("headers") or {}
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ConfigError(f"model {spec!r}: option headers must map header names to text values")
    return dict(headers)


def error_detail(exc: BaseException) -> str:
    """The server's own error message (``error.message`` in both APIs' bodies), else the exception text."""
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return str(getattr(exc, "message", exc))


class MalformedResponseError(ValueError):
    """A response arrived but lacks what the API documents (no choices, no content)."""
