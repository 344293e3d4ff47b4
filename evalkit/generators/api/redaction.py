"""Keep credentials out of everything evalkit writes or shows: run.json, records, reports, logs.

A credential can sit in a URL (``user:password@``, or a query parameter such as
``?api-key=...``, ``?sig=...``), in a request header (``Authorization``, ``api-key``,
``x-api-key``, ...) or be an API key read from the environment. URLs and headers are shown
with those parts replaced by ``[redacted]``; free text (error messages, the server's own
words) is scrubbed of every secret value a backend knows about.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

REDACTED = "[redacted]"
MIN_SECRET_CHARS = 4
"""Shorter values are not scrubbed from free text: they would mangle ordinary words."""

_CREDENTIAL_WORDS = re.compile(
    r"key|token|secret|sig|password|passwd|pwd|auth|credential|cookie|session|signature", re.IGNORECASE
)
_CREDENTIAL_NAMES = frozenset({"code", "sas", "sv", "se", "sp", "st", "skoid", "sktid"})
"""Query parameters that carry credentials under short names (Azure function keys and SAS tokens)."""

_SAFE_OPTION_SUFFIXES = ("_env", "_param", "_per_minute")
"""Option names that contain a credential-like word but hold no secret (api_key_env, max_tokens_param)."""


def is_credential_name(name: str) -> bool:
    """Whether a query parameter or header of this name may carry a credential."""
    return name.lower() in _CREDENTIAL_NAMES or _CREDENTIAL_WORDS.search(name) is not None


def redact_url(url: str) -> str:
    """The URL without user:password and with credential-like query values replaced, safe to show."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.username is not None or parts.password is not None:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(name, REDACTED if is_credential_name(name) else value) for name, value in pairs], safe="[]"
        )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def url_secrets(url: str | None) -> list[str]:
    """The secret values a URL carries (password, credential-like query values), for scrubbing."""
    if not url:
        return []
    parts = urlsplit(url)
    found = [parts.password or ""]
    found += [
        value for name, value in parse_qsl(parts.query, keep_blank_values=True) if is_credential_name(name)
    ]
    return [value for value in found if value]


def redact_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    """Headers with every credential-like value replaced."""
    return {name: REDACTED if is_credential_name(str(name)) else value for name, value in headers.items()}


def header_secrets(headers: Mapping[str, Any] | None) -> list[str]:
    """The values of credential-like headers (and the token after "Bearer "), for scrubbing."""
    found: list[str] = []
    for name, value in (headers or {}).items():
        if is_credential_name(str(name)) and isinstance(value, str):
            found.append(value)
            scheme, _, token = value.partition(" ")
            if token and scheme.lower() in {"bearer", "basic", "token"}:
                found.append(token)
    return found


def redact_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Model options as stored in run.json and shown in reports: no credential in any form."""
    return {name: _redact_option(str(name), value) for name, value in options.items()}


def _redact_option(name: str, value: Any) -> Any:
    if isinstance(value, Mapping):
        return redact_headers(value) if "header" in name.lower() else redact_options(value)
    if isinstance(value, str):
        if "://" in value:
            return redact_url(value)
        if is_credential_name(name) and not name.lower().endswith(_SAFE_OPTION_SUFFIXES):
            return REDACTED
    return value


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (as written, and URL-encoded) replaced by ``[redacted]``."""
    for secret in sorted({s for s in secrets if len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True):
        for form in dict.fromkeys((secret, quote(secret, safe=""), quote_plus(secret))):
            text = text.replace(form, REDACTED)
    return text


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
LOGGERS = (
    "evalkit", "evalkit.generators", "httpx", "httpx2", "openai", "openai._base_client", "anthropic",
    "anthropic._base_client",
)  # fmt: skip
"""Loggers whose lines may hold a request URL (the HTTP libraries log each request at INFO)."""


def redact_urls_in(text: str) -> str:
    """``text`` with every URL in it shown as :func:`redact_url` shows it."""
    return _URL.sub(lambda match: redact_url(match.group(0)), text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts credentials in the URLs of every line it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with its URLs redacted; never drops a line."""
        message = record.getMessage()
        redacted = redact_urls_in(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def install_log_redaction(*extra: str) -> None:
    """Attach one :class:`RedactingFilter` to each logger in :data:`LOGGERS` and ``extra`` (idempotent).

    A filter only sees lines logged on its own logger, so the HTTP library an SDK uses is
    named by the caller (``extra``) as well.
    """
    for name in (*LOGGERS, *extra):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
