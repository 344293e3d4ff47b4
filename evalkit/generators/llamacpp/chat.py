"""Turn chat messages into the exact text a GGUF model sees.

We render the chat ourselves (rather than calling ``create_chat_completion``) so that the
rendered prompt can be stored with every response and so that chat and raw requests share
one decode path with the same log-probability support.

Order of choice: the ``chat_format`` option (a Jinja chat template, the name of a template
stored in the GGUF file, or a llama-cpp-python format name such as "chatml"), then the
GGUF file's own template, then Gemma's turn format for Gemma models without a template
(base checkpoints ship none).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from evalkit.errors import ConfigError, GenerationError
from evalkit.generators.llamacpp.engine import import_llama_cpp
from evalkit.records import Message

_TEMPLATE_KEY = "tokenizer.chat_template"


@dataclass(frozen=True)
class ChatRenderer:
    """A llama-cpp-python chat formatter plus how to adapt messages for it.

    Attributes:
        name: What was chosen, for identity and error messages.
        formatter: Callable(messages=[...]) returning a ChatFormatterResponse.
        merge_system: Fold a system message into the first user turn, for formats
            (Gemma's) that have no system role and would otherwise drop it.

    """

    name: str
    formatter: Callable[..., Any]
    merge_system: bool = False

    def render(self, messages: Sequence[Message]) -> tuple[str, tuple[str, ...]]:
        """The prompt text and the format's stop strings."""
        payload = [{"role": m.role, "content": m.content} for m in messages]
        if self.merge_system:
            payload = _merge_system(payload)
        try:
            response = self.formatter(messages=payload)
        except Exception as exc:  # a chat template may raise anything (jinja errors, raise_exception)
            raise GenerationError(f"chat format {self.name!r} could not render the messages: {exc}") from exc
        stop = response.stop
        stops = (stop,) if isinstance(stop, str) else tuple(stop or ())
        return str(response.prompt), stops


def _merge_system(payload: list[dict[str, str]]) -> list[dict[str, str]]:
    if not payload or payload[0]["role"] != "system":
        return payload
    system, rest = payload[0]["content"], payload[1:]
    if rest and rest[0]["role"] == "user":
        first = {"role": "user", "content": f"{system}\n\n{rest[0]['content']}"}
        return [first, *rest[1:]]
    return [{"role": "user", "content": system}, *rest]


def chat_renderer(llama: Any, chat_format: str | None) -> ChatRenderer:
    """Pick the chat formatter for a loaded model (see the module docstring for the order)."""
    metadata: dict[str, str] = dict(getattr(llama, "metadata", {}) or {})
    if chat_format is not None:
        return _from_option(llama, metadata, chat_format)
    if _TEMPLATE_KEY in metadata:
        return ChatRenderer("gguf:default", _jinja(llama, metadata[_TEMPLATE_KEY]))
    if metadata.get("general.architecture", "").startswith("gemma"):
        return ChatRenderer("gemma", _named_formatter("gemma"), merge_system=True)
    raise GenerationError(
        "this GGUF model has no chat template; set the model option chat_format "
        "(e.g. 'chatml' or a Jinja template) or use a text-format system template"
    )


def _from_option(llama: Any, metadata: dict[str, str], chat_format: str) -> ChatRenderer:
    if "{%" in chat_format or "{{" in chat_format:
        return ChatRenderer("jinja:custom", _jinja(llama, chat_format))
    stored = f"{_TEMPLATE_KEY}.{chat_format}"
    if stored in metadata:
        return ChatRenderer(f"gguf:{chat_format}", _jinja(llama, metadata[stored]))
    return ChatRenderer(chat_format, _named_formatter(chat_format), merge_system=chat_format == "gemma")


def _jinja(llama: Any, template: str) -> Callable[..., Any]:
    llama_cpp = import_llama_cpp()
    model = llama._model
    eos, bos = llama.token_eos(), llama.token_bos()
    formatter: Callable[..., Any] = llama_cpp.llama_chat_format.Jinja2ChatFormatter(
        template=template,
        eos_token=model.token_get_text(eos) if eos != -1 else "",
        bos_token=model.token_get_text(bos) if bos != -1 else "",
    )
    return formatter


def _named_formatter(name: str) -> Callable[..., Any]:
    """The text formatter behind a llama-cpp-python chat format name.

    llama-cpp-python registers completion handlers, not formatters, by name; a handler
    made from a formatter keeps it in its closure, which is where we read it from.
    Handlers that are not plain formatters (function calling, vision) are refused.
    """
    chat_format = import_llama_cpp().llama_chat_format
    try:
        handler = chat_format.get_chat_completion_handler(name)
    except chat_format.LlamaChatCompletionHandlerNotFoundException as exc:
        raise ConfigError(f"unknown chat_format {name!r} for a GGUF model: {exc}") from exc
    formatter: Callable[..., Any] | None = inspect.getclosurevars(handler).nonlocals.get("chat_formatter")
    if formatter is None or not callable(formatter):
        raise ConfigError(
            f"chat_format {name!r} is not a plain text chat format; use a text format such as "
            "'chatml' or 'gemma', or pass a Jinja chat template"
        )
    return formatter
