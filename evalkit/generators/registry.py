"""Resolve model specs ("openai/gpt-4o", "local/gemma-3-270m", ...) to generators.

Built-in providers and third-party ones resolve through the same table: the
``evalkit.generators`` entry-point group, whose built-in members are declared in
pyproject.toml. A factory takes the part after the first "/" and the user's options.
A provider module declares its options as a pydantic model named ``Options`` (see
evalkit.generators.options), so a config's options are checked before anything loads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel

from evalkit.errors import ConfigError, UnknownSpecError
from evalkit.generators.base import Generator
from evalkit.generators.options import ProviderOptions, parse_options

Factory = Callable[[str, Mapping[str, Any]], Generator]
ENTRY_POINT_GROUP = "evalkit.generators"

# Also declared as entry points; kept here so a source checkout without an install works.
BUILTIN_PROVIDERS: dict[str, str] = {
    "fake": "evalkit.generators.fake:create",
    "local": "evalkit.generators.llamacpp.backend:create_packaged",
    "gguf": "evalkit.generators.llamacpp.backend:create_from_path",
    "openai": "evalkit.generators.api.openai_api:create_openai",
    "openai-compatible": "evalkit.generators.api.openai_api:create_compatible",
    "anthropic": "evalkit.generators.api.anthropic_api:create",
    "vllm": "evalkit.generators.vllm.engine:create",
    "vllm-server": "evalkit.generators.vllm.server:create",
}


def entry_point_table(group: str, builtins: Mapping[str, str]) -> dict[str, str]:
    """Name -> "module:attr" of a plug-in group: the built-ins, overridden by installed entry points."""
    return {**builtins, **{ep.name: ep.value for ep in entry_points(group=group)}}


def load_target(target: str) -> Any:
    """Import what a "module:attr" target names."""
    module_name, _, attr = target.partition(":")
    return getattr(import_module(module_name), attr)


@cache
def provider_table() -> dict[str, str]:
    """Provider prefix -> "module:attr", built-ins overridden by installed entry points."""
    return entry_point_table(ENTRY_POINT_GROUP, BUILTIN_PROVIDERS)


def split_spec(spec: str) -> tuple[str, str]:
    """Split "provider/name" into its parts, with a clear error for malformed specs."""
    provider, sep, name = spec.partition("/")
    if not sep or not provider or not name:
        raise UnknownSpecError(
            f"model spec {spec!r} is not of the form 'provider/name'; "
            f"known providers: {', '.join(sorted(provider_table()))}"
        )
    return provider, name


def load_factory(provider: str) -> Factory:
    """Import the factory registered for a provider prefix."""
    target = provider_table().get(provider)
    if target is None:
        raise UnknownSpecError(
            f"unknown model provider {provider!r}; known providers: "
            f"{', '.join(sorted(provider_table()))}. Run 'evalkit models' to list them."
        )
    factory: Factory = load_target(target)
    return factory


def options_model(provider: str) -> type[BaseModel] | None:
    """The ``Options`` model a provider's module declares (None for plug-ins that declare none)."""
    module_name, _, _ = provider_table()[provider].partition(":")
    found = getattr(import_module(module_name), "Options", None)
    return found if isinstance(found, type) and issubclass(found, BaseModel) else None


def check_options(spec: str, options: Mapping[str, Any]) -> None:
    """Validate a model's options against its provider's Options model, without building it.

    Raises:
        UnknownSpecError: The provider is not registered.
        ConfigError: An unknown option or a bad value, naming the model and the option.

    """
    provider, _ = split_spec(spec)
    load_factory(provider)
    model = options_model(provider)
    if model is not None and issubclass(model, ProviderOptions):
        parse_options(model, spec, options)


def create_generator(spec: str | Generator, options: Mapping[str, Any] | None = None) -> Generator:
    """Build the generator a spec names, or pass a ready generator through.

    Args:
        spec: "provider/name", e.g. "openai/gpt-4o-mini" or "local/gemma-3-270m"; or a
            Generator instance (your own backend object), returned as it is.
        options: Provider options from the config (base_url, max_concurrency, ...); only
            with a spec string (an instance was configured when it was made).

    Raises:
        UnknownSpecError: The provider is not registered.
        ConfigError: The options are invalid for that provider, or options came with an instance.

    """
    if isinstance(spec, Generator):
        if options:
            raise ConfigError(
                f"options {', '.join(sorted(options))} were given with a ready generator ({spec.spec!r}); "
                "set them when you make the generator"
            )
        return spec
    provider, name = split_spec(spec)
    try:
        return load_factory(provider)(name, dict(options or {}))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid options for model {spec!r}: {exc}") from exc
