"""Anthropic models through the Anthropic SDK's messages API.

Spec: ``anthropic/<model>``; key in ANTHROPIC_API_KEY (or the variable named by the
option ``api_key_env``); base URL from the option ``base_url`` or ANTHROPIC_BASE_URL.
System messages go in the top-level ``system`` parameter, as the API requires, joined
by blank lines when there are several. ``max_tokens`` is always sent (the API requires
it) and ``stop`` becomes ``stop_sequences``.

Sampling: the messages API version that current SDKs send rejects ``temperature`` and
``top_p``, so by default they are not sent and the model samples with its own defaults
(a warning says so once). With the option ``api_version: "2023-06-01"`` the older
version is requested and temperature (and top_p when not 1) are sent, for models that
still take them. A JSON-schema ``response_format`` (judges' structured verdicts) becomes the
API's JSON output option, ``output_config.format``, with integer ranges spelled as enums. The
API returns no log-probabilities (``capabilities.logprobs`` is False;
a request for them gets ``logprobs=None``), takes no seed, and has no raw-text endpoint.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from pydantic import Field, StrictStr

from evalkit.errors import MissingDependencyError
from evalkit.generators.api.base import ApiGenerator
from evalkit.generators.api.redaction import redact_url
from evalkit.generators.api.retry import AttemptError, Failure
from evalkit.generators.api.support import (
    MalformedResponseError,
    key_from_env,
    normalise_finish,
    sdk_client_arguments,
)
from evalkit.generators.base import Capabilities, Completion, CompletionRequest, Generator
from evalkit.generators.options import ApiOptions, parse_options

LEGACY_API_VERSION = "2023-06-01"
"""The messages API version that still takes temperature and top_p."""
LOG = logging.getLogger("evalkit.generators")
STOP_REASONS = {"refusal": "content_filter", "tool_use": "tool_calls"}
"""Anthropic stop reasons without an OpenAI-style equivalent in :func:`normalise_finish`."""


class AnthropicOptions(ApiOptions):
    """Options of ``anthropic/`` models."""

    api_version: StrictStr | None = Field(
        None, description=f"a messages API version such as {LEGACY_API_VERSION!r}"
    )


Options = AnthropicOptions


def import_anthropic() -> ModuleType:
    """Import the Anthropic SDK or say how to install it."""
    try:
        return importlib.import_module("anthropic")
    except ImportError as exc:
        raise MissingDependencyError("anthropic", "anthropic", "Anthropic models") from exc


def message_arguments(model: str, request: CompletionRequest) -> dict[str, Any]:
    """Keyword arguments for ``messages.create``: system prompt apart, chat turns in order."""
    system = "\n\n".join(m.content for m in request.messages if m.role == "system")
    arguments: dict[str, Any] = {
        "model": model,
        "max_tokens": request.params.max_tokens,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages if m.role != "system"],
    }
    if system:
        arguments["system"] = system
    if request.params.stop:
        arguments["stop_sequences"] = list(request.params.stop)
    if request.response_format is not None:
        arguments["output_config"] = {"format": output_format(request.response_format)}
    return arguments


def output_format(response_format: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON output format for an OpenAI-style ``json_schema`` response format.

    Raises:
        AttemptError: Any other kind of response format (not retryable).

    """
    schema = (response_format.get("json_schema") or {}).get("schema")
    if response_format.get("type") != "json_schema" or not isinstance(schema, dict):
        raise AttemptError(
            Failure(f"the Anthropic API takes JSON schemas only, not {response_format.get('type')!r}", False)
        )
    return {"type": "json_schema", "schema": _ranges_as_enums(schema)}


def _ranges_as_enums(schema: Any) -> Any:
    """The schema with bounded integers listed as enums: numeric bounds are not among the API's keywords."""
    if isinstance(schema, list):
        return [_ranges_as_enums(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    found = {key: _ranges_as_enums(value) for key, value in schema.items()}
    low, high = found.get("minimum"), found.get("maximum")
    if found.get("type") == "integer" and isinstance(low, int) and isinstance(high, int):
        found = {k: v for k, v in found.items() if k not in ("minimum", "maximum")}
        found["enum"] = list(range(low, high + 1))
    return found


def sampling_body(request: CompletionRequest) -> dict[str, Any]:
    """Temperature, and top_p when not 1 (models refuse both set), for the legacy API version."""
    body: dict[str, Any] = {"temperature": request.params.temperature}
    if request.params.top_p != 1.0:
        body["top_p"] = request.params.top_p
    return body


def parse_message(response: Any, model: str, rendered: str) -> Completion:
    """A Completion from a Message response: text blocks joined, stop reason normalised."""
    blocks = getattr(response, "content", None)
    if not isinstance(blocks, list):
        raise MalformedResponseError(f"no content blocks in the response ({type(response).__name__})")
    usage = getattr(response, "usage", None)
    reason = getattr(response, "stop_reason", None)
    return Completion(
        text="".join(getattr(b, "text", "") for b in blocks if getattr(b, "type", None) == "text"),
        model_id=getattr(response, "model", None) or model,
        finish_reason=STOP_REASONS.get(reason or "", normalise_finish(reason)),
        prompt_tokens=int(getattr(usage, "input_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "output_tokens", 0) or 0),
        rendered_prompt=rendered,
    )


class AnthropicGenerator(ApiGenerator):
    """Chat completions through the Anthropic messages API."""

    capabilities = Capabilities(structured_output=True, logprobs=False, raw_prompt=False)
    provider_label = "Anthropic"
    Options = AnthropicOptions
    options: AnthropicOptions

    def __init__(
        self, spec: str, options: Mapping[str, Any] | AnthropicOptions, *, model: str, key: str, key_env: str
    ) -> None:
        super().__init__(spec, options, default_concurrency=8, key_env=key_env)
        self.model = model
        self.base_url = self.options.base_url or os.environ.get("ANTHROPIC_BASE_URL") or None
        self.api_version = self.options.api_version or None
        self._secret = key
        self._warned_sampling = False

    @property
    def sdk(self) -> ModuleType:
        """The anthropic module."""
        return import_anthropic()

    def identity(self) -> dict[str, Any]:
        """Spec, endpoint, model name and any pinned API version: never a credential."""
        found = {"spec": self.spec, "model": self.model, "endpoint": redact_url(self.base_url or "")}
        return found if self.api_version is None else {**found, "api_version": self.api_version}

    def _make_client(self) -> Any:
        sdk = self.sdk
        return sdk.AsyncAnthropic(**sdk_client_arguments(sdk, self, self._default_headers()))

    def _default_headers(self) -> dict[str, str]:
        version = {"anthropic-version": self.api_version} if self.api_version else {}
        return {**self.headers, **version}

    def _sampling(self, request: CompletionRequest) -> dict[str, Any] | None:
        if self.api_version == LEGACY_API_VERSION:
            return sampling_body(request)
        if not self._warned_sampling:
            self._warned_sampling = True
            LOG.warning(
                "%s: the messages API version in use takes no temperature or top_p, so the model samples "
                "with its defaults; set the option api_version: '%s' to send them",
                self.spec,
                LEGACY_API_VERSION,
            )
        return None

    async def _send(self, client: Any, request: CompletionRequest) -> Completion:
        if request.prompt is not None:
            raise AttemptError(
                Failure(
                    f"{self.spec} takes chat messages only; give this system a chat template",
                    retryable=False,
                )
            )
        if request.params.repetition_penalty is not None:
            raise AttemptError(
                Failure(
                    "the Anthropic API has no repetition_penalty; remove it from the sampling parameters",
                    False,
                )
            )
        arguments = message_arguments(self.model, request)
        response = await client.messages.create(**arguments, extra_body=self._sampling(request))
        return parse_message(response, self.model, _render(arguments))


def _render(arguments: Mapping[str, Any]) -> str:
    return json.dumps(
        {"system": arguments.get("system", ""), "messages": arguments["messages"]}, ensure_ascii=False
    )


def create(name: str, options: Mapping[str, Any]) -> Generator:
    """Factory for ``anthropic/<model>``.

    Raises:
        MissingDependencyError: The anthropic package is not installed.
        MissingKeyError: ANTHROPIC_API_KEY (or ``api_key_env``) is not set.

    """
    import_anthropic()
    spec = f"anthropic/{name}"
    parsed = parse_options(AnthropicOptions, spec, options)
    key_env = parsed.api_key_env or "ANTHROPIC_API_KEY"
    key = key_from_env(key_env, "Anthropic")
    return AnthropicGenerator(spec, parsed, model=name, key=key, key_env=key_env)
