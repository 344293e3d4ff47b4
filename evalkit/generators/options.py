"""Provider options: one pydantic model per provider, ``extra="forbid"``, one error style.

Each provider module declares its options as a class named ``Options`` (a subclass of
:class:`ProviderOptions`); :func:`parse_options` validates a config's mapping against it
and turns every problem into one :class:`~evalkit.errors.ConfigError` that names the
model, the option and what it must be. A field's ``description`` says what it must be
("a whole number >= 1"), so messages read "option 'n_ctx' must be a positive integer,
got 0".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
)

from evalkit.errors import ConfigError

OptionsT = TypeVar("OptionsT", bound="ProviderOptions")

Seconds = StrictInt | StrictFloat


class ProviderOptions(BaseModel):
    """Base of every provider's options: frozen, and unknown names are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def parse_options(
    model: type[OptionsT], spec: str, options: Mapping[str, Any] | BaseModel | None
) -> OptionsT:
    """Validate ``options`` for the model ``spec`` against its provider's Options class.

    Raises:
        ConfigError: An API key in the options, an unknown option, or a bad value; the
            message names the model and the option.

    """
    if isinstance(options, model):
        return options
    data = dict(options.model_dump() if isinstance(options, BaseModel) else options or {})
    if "api_key" in data and "api_key" not in model.model_fields:
        raise ConfigError(
            f"model {spec!r}: do not put an API key in the config (it would be saved with the run); "
            "put it in an environment variable and name that variable with the option api_key_env"
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_message(model, spec, exc, data)) from exc


def _message(model: type[ProviderOptions], spec: str, exc: ValidationError, data: Mapping[str, Any]) -> str:
    errors = exc.errors()
    unknown = [str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden" and e["loc"]]
    if unknown:
        return (
            f"model {spec!r}: unknown option(s) {', '.join(sorted(unknown))}; "
            f"valid options: {', '.join(model.model_fields)}"
        )
    first = errors[0]
    name = str(first["loc"][0]) if first["loc"] else ""
    field = model.model_fields.get(name)
    if field is not None and field.description:
        return f"model {spec!r}: option {name!r} must be {field.description}, got {data.get(name)!r}"
    where = ".".join(str(part) for part in first["loc"]) or "(options)"
    return f"model {spec!r}: option {where!r}: {first['msg']}"


class ApiOptions(ProviderOptions):
    """Options every HTTP API provider takes (OpenAI, OpenAI-compatible, Anthropic)."""

    base_url: StrictStr | None = Field(None, description="a URL such as http://127.0.0.1:8000/v1")
    headers: dict[StrictStr, StrictStr] = Field(
        default_factory=dict, description="a mapping of header names to text values"
    )
    api_key_env: StrictStr | None = Field(None, description="the name of an environment variable")
    http_transport: Literal["auto", "aiohttp", "httpx"] = Field(
        "auto", description="one of auto, aiohttp, httpx"
    )
    timeout: Seconds = Field(120.0, gt=0, description="a number of seconds > 0")
    max_concurrency: StrictInt | None = Field(None, ge=1, description="a whole number >= 1")
    requests_per_minute: Seconds | None = Field(None, gt=0, description="a number > 0")
    tokens_per_minute: Seconds | None = Field(None, gt=0, description="a number > 0")
    max_attempts: StrictInt = Field(6, ge=1, description="a whole number >= 1")
    retry_initial_wait: Seconds = Field(1.0, ge=0, description="a number of seconds >= 0")
    retry_max_wait: Seconds = Field(60.0, ge=0, description="a number of seconds >= 0")
    circuit_breaker: StrictInt = Field(
        5, ge=0, description="a whole number >= 0 (endpoint failures in a row that stop the run; 0: off)"
    )


def api_fields(options: Mapping[str, Any], spec: str) -> ApiOptions:
    """The API options among ``options`` (others ignored), validated: for the limits and retry policy."""
    return parse_options(ApiOptions, spec, {k: v for k, v in options.items() if k in ApiOptions.model_fields})
