"""Validate one raw prompt entry in evalkit's own format and build a Prompt record.

Fields: ``id`` (required, string or integer); exactly one of ``prompt`` / ``instruction``
(a string), ``turns`` (a list of strings) or ``messages`` (a list of {role, content},
user and assistant alternating, starting with user); optional ``category``, ``split``,
``reference`` (a string or one string per turn, "" for none) and ``metadata`` (an object). Any other
field is kept in the record's metadata. Assistant messages are never sent to a model;
they are kept in ``metadata["assistant_turns"]``.
"""

from __future__ import annotations

from typing import Any

from evalkit.prompts.readers import RawItem
from evalkit.records import Prompt

TEXT_FIELDS = ("prompt", "instruction", "turns", "messages")
RESERVED_FIELDS = frozenset({"id", "category", "split", "reference", "metadata", *TEXT_FIELDS})


def parse_prompt(item: RawItem) -> Prompt:
    """Build a Prompt from one entry, or raise ConfigError naming its file:line and field."""
    turns, assistant_turns = _turns(item)
    metadata = _metadata(item)
    if assistant_turns:
        metadata["assistant_turns"] = list(assistant_turns)
    return Prompt(
        id=_prompt_id(item),
        turns=turns,
        category=_label(item, "category", "uncategorized"),
        split=_label(item, "split", "unspecified"),
        reference=_reference(item, len(turns)),
        metadata=metadata,
    )


def _prompt_id(item: RawItem) -> str:
    value = item.data.get("id")
    if value is None:
        raise item.error(
            "id", "missing", "Give every prompt a unique 'id' (a short string such as \"advice-01\")"
        )
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise item.error("id", f"must be a string or an integer, got {type(value).__name__}", "Quote the id")
    text = str(value).strip()
    if not text:
        raise item.error("id", "is empty", "Give every prompt a non-empty unique 'id'")
    return text


def _turns(item: RawItem) -> tuple[tuple[str, ...], tuple[str, ...]]:
    present = [name for name in TEXT_FIELDS if name in item.data]
    if len(present) != 1:
        problem = "none given" if not present else f"several given ({', '.join(present)})"
        raise item.error(
            "prompt", problem, "Give exactly one of 'prompt', 'instruction', 'turns' or 'messages'"
        )
    field = present[0]
    value = item.data[field]
    if field == "messages":
        return _messages(item, value)
    if field == "turns":
        return _string_list(item, field, value), ()
    return (_text(item, field, value),), ()


def _text(item: RawItem, field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise item.error(
            field, f"must be a string, got {type(value).__name__}", "Write the text as a JSON string"
        )
    if not value.strip():
        raise item.error(field, "is empty", "Write the prompt text or remove the entry")
    return value


def _string_list(item: RawItem, field: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise item.error(
            field, "must be a non-empty list of strings", 'Write e.g. ["first turn", "second turn"]'
        )
    return tuple(_text(item, f"{field}[{i}]", entry) for i, entry in enumerate(value))


def _messages(item: RawItem, value: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if not isinstance(value, list) or not value:
        raise item.error(
            "messages", "must be a non-empty list", 'Write e.g. [{"role": "user", "content": "..."}]'
        )
    user: list[str] = []
    assistant: list[str] = []
    for index, message in enumerate(value):
        field = f"messages[{index}]"
        expected = "user" if index % 2 == 0 else "assistant"
        if not isinstance(message, dict) or message.get("role") != expected:
            raise item.error(
                field,
                f"expected a {{role, content}} object with role '{expected}'",
                "Messages must alternate user, assistant, user, ... starting with user; "
                "system text belongs in a template",
            )
        (user if expected == "user" else assistant).append(
            _text(item, f"{field}.content", message.get("content"))
        )
    return tuple(user), tuple(assistant)


def _label(item: RawItem, field: str, default: str) -> str:
    value = item.data.get(field, default)
    if not isinstance(value, str) or not value.strip():
        raise item.error(field, "must be a non-empty string", f"Use a short label or remove '{field}'")
    return value.strip()


def _reference(item: RawItem, n_turns: int) -> tuple[str, ...] | None:
    """One reference per turn; an empty string means "no reference for this turn"."""
    value = item.data.get("reference")
    entries = [value] if isinstance(value, str) else value
    if value is None or not entries or not any(entries):
        return None
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise item.error("reference", "must be a string or a list of strings", "Give one reference per turn")
    if len(entries) > n_turns:
        raise item.error(
            "reference",
            f"has {len(entries)} entries for {n_turns} turn(s)",
            "Give at most one reference per turn",
        )
    return tuple(entries)


def _metadata(item: RawItem) -> dict[str, Any]:
    explicit = item.data.get("metadata", {})
    if not isinstance(explicit, dict):
        raise item.error("metadata", "must be an object", "Write metadata as a JSON object or remove it")
    extra = {key: value for key, value in item.data.items() if key not in RESERVED_FIELDS}
    return {**explicit, **extra}
