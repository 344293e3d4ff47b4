"""OpenAI and OpenAI-compatible servers through the OpenAI SDK.

Specs:
    openai/<model>                       the OpenAI API (key in OPENAI_API_KEY)
    openai-compatible/<preset>[/<model>]  a local server: vllm, llamacpp, ollama, tgi, lmstudio, sglang
    openai-compatible/<model>            any server; base URL from options.base_url or OPENAI_BASE_URL

Chat requests go to chat completions, raw ``prompt`` requests (completion-style
templates) to the completions endpoint. Log-probabilities come back when the request
asks for ``top_logprobs``. Base URLs and keys come from options or the environment and
are never part of :meth:`identity` (so never in a cache key, a record or a log). Options:
see :class:`OpenAIOptions`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import httpx
from pydantic import Field, StrictBool, StrictStr

from evalkit.errors import ConfigError, MissingDependencyError
from evalkit.generators.api.base import ApiGenerator
from evalkit.generators.api.openai_wire import (
    chat_arguments,
    completion_arguments,
    parse_chat,
    parse_completion,
)
from evalkit.generators.api.redaction import redact_url
from evalkit.generators.api.retry import AttemptError, Failure
from evalkit.generators.api.support import (
    key_from_env,
    sdk_client_arguments,
)
from evalkit.generators.base import Capabilities, Completion, CompletionRequest, Generator
from evalkit.generators.options import ApiOptions, parse_options

PRESETS: dict[str, str] = {
    "vllm": "http://127.0.0.1:8000/v1",
    "llamacpp": "http://127.0.0.1:8080/v1",
    "ollama": "http://127.0.0.1:11434/v1",
    "tgi": "http://127.0.0.1:8080/v1",
    "lmstudio": "http://127.0.0.1:1234/v1",
    "sglang": "http://127.0.0.1:30000/v1",
}
"""Default base URLs of common local servers; EVALKIT_<PRESET>_BASE_URL overrides each."""

STRUCTURED_PRESETS = frozenset({"vllm", "llamacpp", "sglang"})
"""Servers known to honour ``response_format`` JSON schemas (constrained decoding)."""
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0"})


class OpenAIOptions(ApiOptions):
    """Options of ``openai/`` and ``openai-compatible/`` models."""

    model: StrictStr | None = Field(None, description="the model name the server serves")
    max_tokens_param: StrictStr | None = Field(
        None, description="the name of the output-length parameter (max_tokens or max_completion_tokens)"
    )
    structured_output: StrictBool | None = Field(
        None,
        description="true or false (whether the server honours response_format JSON schemas; default: "
        "true for OpenAI and the vllm, llamacpp and sglang presets)",
    )


Options = OpenAIOptions
NO_KEY = "no-key-needed"
"""Sent to servers that need no key: the SDK insists on one."""


def import_openai() -> ModuleType:
    """Import the OpenAI SDK or say how to install it."""
    try:
        return importlib.import_module("openai")
    except ImportError as exc:
        raise MissingDependencyError("openai", "openai", "OpenAI and OpenAI-compatible models") from exc


class OpenAIGenerator(ApiGenerator):
    """Chat and text completions through the OpenAI SDK, against OpenAI or a compatible server.

    Attributes:
        model: Model name sent with each request (None: ask the server once).
        preset: Preset name for compatible servers ("generic" without one; None for OpenAI).

    """

    Options = OpenAIOptions
    options: OpenAIOptions

    def __init__(
        self,
        spec: str,
        options: Mapping[str, Any] | OpenAIOptions,
        *,
        model: str | None,
        base_url: str | None,
        key: str,
        key_env: str | None,
        preset: str | None,
    ) -> None:
        default_concurrency = 8 if preset is None else 16
        super().__init__(spec, options, default_concurrency=default_concurrency, key_env=key_env)
        self.provider_label = "OpenAI" if preset is None else f"the server at {redact_url(base_url or '')}"
        self.model = model
        self.preset = preset
        self.base_url = base_url
        self._secret = key
        self.max_tokens_param = self.options.max_tokens_param or (
            "max_tokens" if preset else "max_completion_tokens"
        )
        self.capabilities = self._capabilities()

    def _capabilities(self) -> Capabilities:
        structured = self.options.structured_output
        if structured is None:
            structured = self.preset is None or self.preset in STRUCTURED_PRESETS
        local = self.preset is not None and httpx.URL(self.base_url or "").host in LOOPBACK_HOSTS
        return Capabilities(structured_output=structured, logprobs=True, raw_prompt=True, local=local)

    @property
    def sdk(self) -> ModuleType:
        """The openai module."""
        return import_openai()

    def identity(self) -> dict[str, Any]:
        """Spec, preset, endpoint and model name: what selects the model; never a credential.

        The endpoint is in the cache key: two servers behind the same spec never share answers.
        """
        found = {"spec": self.spec, "model": self.model_name(), "endpoint": redact_url(self.base_url or "")}
        return found if self.preset is None else {**found, "preset": self.preset}

    def model_name(self) -> str:
        """The model sent with requests; for a preset without one, the first the server lists."""
        if self.model is None:
            self.model = self._served_model()
        return self.model

    async def preflight(self) -> None:
        """Check that a server on this machine answers at all; a remote API is not probed.

        Without it, every item of a run against a server that was never started would spend
        its whole retry budget on refused connections before failing.
        """
        if not self.capabilities.local:
            return
        url = endpoint(self.base_url or "", "models")
        try:
            async with httpx.AsyncClient(timeout=5) as probe:
                await probe.get(url)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ConfigError(
                f"model {self.spec!r}: no server answers at {redact_url(self.base_url or '')} "
                f"({type(exc).__name__}); start it, or fix the option 'base_url'"
            ) from exc

    def _served_model(self) -> str:
        url = endpoint(self.base_url or "", "models")
        try:
            headers = {"Authorization": f"Bearer {self._secret}", **self.headers}
            reply = httpx.get(url, headers=headers, timeout=10)
            reply.raise_for_status()
            served = [str(entry["id"]) for entry in reply.json()["data"]]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"model {self.spec!r}: could not ask {redact_url(url)} which model it serves "
                f"({type(exc).__name__}); start the server, or name the model with the option 'model'"
            ) from exc
        if len(served) != 1:
            raise ConfigError(
                f"model {self.spec!r}: the server at {redact_url(url)} serves {len(served)} models "
                f"({', '.join(served[:10])}); name one, e.g. {self.spec}/<model>"
            )
        return served[0]

    def _make_client(self) -> Any:
        sdk = self.sdk
        return sdk.AsyncOpenAI(**sdk_client_arguments(sdk, self, self.headers))

    async def _send(self, client: Any, request: CompletionRequest) -> Completion:
        # The client's plain ``post`` (the SDK's way to call any endpoint) skips the typed
        # wrappers' walk over the parameters, a third of the client's CPU per request; our
        # arguments are plain JSON already. Responses still parse into the SDK's types.
        model = self.model_name()
        types = self.sdk.types
        if request.prompt is not None:
            body = {**completion_arguments(model, request), **self._extra_body(request)}
            response = await client.post("/completions", body=body, cast_to=types.Completion)
            return parse_completion(response, model, request)
        body = {**chat_arguments(model, request, self.max_tokens_param), **self._extra_body(request)}
        response = await client.post("/chat/completions", body=body, cast_to=types.chat.ChatCompletion)
        return parse_chat(response, model, request)

    def _extra_body(self, request: CompletionRequest) -> dict[str, Any]:
        penalty = request.params.repetition_penalty
        if penalty is None:
            return {}
        if self.preset is None:
            raise AttemptError(
                Failure(
                    "the OpenAI API has no repetition_penalty; remove it from this system's sampling",
                    retryable=False,
                )
            )
        return {"repetition_penalty": penalty}


def endpoint(base_url: str, path: str) -> str:
    """``path`` under ``base_url``, keeping the base URL's query string (some gateways put keys there)."""
    url = httpx.URL(base_url)
    return str(url.copy_with(path=url.path.rstrip("/") + "/" + path))


def create_openai(name: str, options: Mapping[str, Any]) -> Generator:
    """Factory for ``openai/<model>``: key from OPENAI_API_KEY (or ``api_key_env``).

    Raises:
        MissingDependencyError: The openai package is not installed.
        MissingKeyError: The key's environment variable is not set.

    """
    import_openai()
    spec = f"openai/{name}"
    parsed = parse_options(OpenAIOptions, spec, options)
    key_env = parsed.api_key_env or "OPENAI_API_KEY"
    key = key_from_env(key_env, "OpenAI")
    base_url = parsed.base_url or os.environ.get("OPENAI_BASE_URL") or None
    return OpenAIGenerator(spec, parsed, model=name, base_url=base_url, key=key, key_env=key_env, preset=None)


def create_compatible(name: str, options: Mapping[str, Any]) -> Generator:
    """Factory for ``openai-compatible/<preset>[/<model>]`` and ``openai-compatible/<model>``.

    Base URL: ``options.base_url``, then EVALKIT_<PRESET>_BASE_URL, then the preset's
    default; the generic form uses ``options.base_url`` or OPENAI_BASE_URL. Key: the
    variable named by ``api_key_env`` (required once named), else EVALKIT_<PRESET>_API_KEY
    (generic form: OPENAI_API_KEY) when set, else none. Model: after the preset in the
    spec, or ``options.model``; a preset without one asks the server on first use.

    Raises:
        MissingDependencyError: The openai package is not installed.
        MissingKeyError: ``api_key_env`` names an unset variable.
        ConfigError: The generic form has no base URL.

    """
    import_openai()
    parsed = parse_options(OpenAIOptions, f"openai-compatible/{name}", options)
    head, _, rest = name.partition("/")
    preset = head if head in PRESETS else None
    model = parsed.model or ((rest or None) if preset else name)
    label = preset.upper() if preset else "OPENAI"
    key_env, key = _compatible_key(name, parsed, f"EVALKIT_{label}_API_KEY" if preset else "OPENAI_API_KEY")
    return OpenAIGenerator(
        f"openai-compatible/{name}",
        parsed,
        model=model,
        base_url=_compatible_base_url(name, parsed, preset),
        key=key,
        key_env=key_env,
        preset=preset or "generic",
    )


def _compatible_base_url(name: str, options: OpenAIOptions, preset: str | None) -> str:
    env_var = f"EVALKIT_{preset.upper()}_BASE_URL" if preset else "OPENAI_BASE_URL"
    base_url = options.base_url or os.environ.get(env_var) or (PRESETS[preset] if preset else None)
    if not base_url:
        raise ConfigError(
            f"model 'openai-compatible/{name}' needs a base URL: set the option base_url or OPENAI_BASE_URL, "
            f"or use a preset ({', '.join(PRESETS)}), e.g. openai-compatible/vllm/<model>"
        )
    return str(base_url)


def _compatible_key(name: str, options: OpenAIOptions, default_env: str) -> tuple[str, str]:
    named_env = options.api_key_env
    if named_env:
        return str(named_env), key_from_env(str(named_env), f"openai-compatible/{name}")
    return default_env, os.environ.get(default_env, "").strip() or NO_KEY
