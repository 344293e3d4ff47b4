"""What the HTTP API backends share besides the generator class: options, clients, messages.

Pure helpers: finish-reason mapping, option and key checks, the SDK's HTTP client, and the
messages for HTTP errors, each saying what to do next.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from evalkit.errors import MissingDependencyError, MissingKeyError
from evalkit.generators.api.redaction import install_log_redaction

if TYPE_CHECKING:
    from evalkit.generators.api.base import ApiGenerator

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


_KEYS_OPTIONAL: ContextVar[bool] = ContextVar("evalkit_keys_optional", default=False)
PLANNING_KEY = "not-needed-to-plan"
"""Stands in for a missing key while planning: a dry run sends nothing."""


@contextmanager
def keys_optional() -> Iterator[None]:
    """Build API generators without their keys (for ``--dry-run``, which never calls them)."""
    token = _KEYS_OPTIONAL.set(True)
    try:
        yield
    finally:
        _KEYS_OPTIONAL.reset(token)


def key_from_env(env_var: str, provider: str) -> str:
    """The key in ``env_var``, else MissingKeyError naming it (a stand-in inside ``keys_optional``)."""
    key = os.environ.get(env_var, "").strip()
    if not key:
        if _KEYS_OPTIONAL.get():
            return PLANNING_KEY
        raise MissingKeyError(env_var, provider)
    return key


def transport_module(sdk: ModuleType) -> Any:
    """The HTTP library an SDK is built on (httpx or a successor), for its Limits class."""
    base = sdk.DefaultAsyncHttpxClient.__mro__[1]
    return importlib.import_module(base.__module__.partition(".")[0])


CONNECT_TIMEOUT_S = 10.0
"""Seconds to wait for a connection: a host that does not accept one in this time is unreachable."""


def sdk_timeout(sdk: ModuleType, timeout_s: float) -> Any:
    """The SDK's timeout: ``timeout_s`` for an answer, at most :data:`CONNECT_TIMEOUT_S` to connect."""
    return transport_module(sdk).Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s))


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
        return sdk.DefaultAioHttpClient(limits=limits, timeout=sdk_timeout(sdk, generator.timeout_s))
    return sdk.DefaultAsyncHttpxClient(limits=limits, timeout=sdk_timeout(sdk, generator.timeout_s))


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


def sdk_client_arguments(
    sdk: ModuleType, generator: ApiGenerator, headers: Mapping[str, str]
) -> dict[str, Any]:
    """What the OpenAI and Anthropic SDK clients are built with.

    The endpoint (its query string as default query parameters), key, timeout, transport and
    headers; retries are evalkit's own, never the SDK's.
    """
    base_url, query = split_query(generator.base_url)
    return {
        "api_key": generator._secret,
        "base_url": base_url,
        "default_query": query,
        "max_retries": 0,
        "timeout": sdk_timeout(sdk, generator.timeout_s),
        "http_client": sdk_http_client(sdk, generator),
        "default_headers": dict(headers) or None,
    }
