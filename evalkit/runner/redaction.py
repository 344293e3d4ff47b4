"""Credentials out of everything a run stores: run.json, records, reports and logs."""

from __future__ import annotations

import re
from typing import Any

from evalkit.generators.api_base import redact_url
from evalkit.runner.config import RunConfig

REDACTED = "***"
_SECRET_NAME = re.compile(r"(key|token|secret|password|passwd|credential|authorization|auth)$", re.I)


def redact_value(name: str, value: Any) -> Any:
    """An option's value as it may be stored: secrets masked, URLs without credentials, recursively."""
    if _SECRET_NAME.search(name.replace("-", "_")) and value:
        return REDACTED
    if isinstance(value, str) and "://" in value:
        return redact_url(value)
    if isinstance(value, dict):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(name, v) for v in value]
    return value


def redacted_options(options: dict[str, Any]) -> dict[str, Any]:
    """Model options with every credential-like part masked."""
    return {k: redact_value(k, v) for k, v in options.items()}


def redacted_config(config: RunConfig) -> RunConfig:
    """The config as stored: the same, with every model's options redacted."""
    systems = tuple(s.model_copy(update={"options": redacted_options(s.options)}) for s in config.systems)
    judges = tuple(j.model_copy(update={"options": redacted_options(j.options)}) for j in config.judges)
    return config.model_copy(update={"systems": systems, "judges": judges})
