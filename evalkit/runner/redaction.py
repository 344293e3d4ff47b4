"""Credentials out of everything a run stores: the config as written to run.json."""

from __future__ import annotations

from evalkit.generators.api.redaction import redact_options
from evalkit.runner.config import RunConfig


def redacted_config(config: RunConfig) -> RunConfig:
    """The config as stored: the same, with every model's options redacted (URLs, headers, keys)."""
    systems = tuple(s.model_copy(update={"options": redact_options(s.options)}) for s in config.systems)
    judges = tuple(j.model_copy(update={"options": redact_options(j.options)}) for j in config.judges)
    return config.model_copy(update={"systems": systems, "judges": judges})
