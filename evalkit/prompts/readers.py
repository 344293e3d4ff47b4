"""Read prompt-set files into raw items that remember where they came from.

Every item carries a location ("file:line") so that validation errors can point at the
exact line of a JSONL file, the line where an element of a JSON array starts, or the line
of a YAML list entry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from evalkit.errors import ConfigError


@dataclass(frozen=True)
class RawItem:
    """One prompt entry as read from disk, before validation.

    Attributes:
        where: "path:line" of the entry, used in every error message about it.
        data: The entry's fields, exactly as parsed.

    """

    where: str
    data: Mapping[str, Any]

    def error(self, field: str, problem: str, fix: str) -> ConfigError:
        """Build the error for a bad field of this entry."""
        return ConfigError(f"{self.where}: field '{field}': {problem}. {fix}")


@dataclass(frozen=True)
class RawFile:
    """A parsed prompt-set file: optional header fields plus its entries."""

    header: Mapping[str, Any]
    items: tuple[RawItem, ...]


def read_file(path: Path) -> RawFile:
    """Parse a .jsonl, .json, .yaml or .yml prompt file.

    Raises:
        ConfigError: The file is missing, unreadable or not valid for its extension.

    """
    text = _read_text(path)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return RawFile({}, tuple(_jsonl_items(path, text)))
    if suffix == ".json":
        return _json_file(path, text)
    if suffix in {".yaml", ".yml"}:
        return _yaml_file(path, text)
    raise ConfigError(f"{path}: unsupported prompt file type {suffix!r}; use .jsonl, .json, .yaml or .yml")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: prompt file not found; check the path or the set name") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the prompt file ({exc}); it must be UTF-8 text") from exc


def _jsonl_items(path: Path, text: str) -> list[RawItem]:
    items = []
    # Only "\n" ends a JSONL line: str.splitlines would also split at U+2028, U+0085 and
    # other characters that JSON allows raw inside strings.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{path}:{number}: invalid JSON ({exc.msg} at column {exc.colno}); "
                "each line must be one JSON object"
            ) from exc
        items.append(_as_item(f"{path}:{number}", data))
    return items


def _as_item(where: str, data: Any) -> RawItem:
    if not isinstance(data, dict):
        raise ConfigError(
            f"{where}: expected a JSON object with at least 'id' and 'prompt', got {type(data).__name__}"
        )
    _check_unicode(where, data, "")
    return RawItem(where, data)


def _check_unicode(where: str, value: Any, field: str) -> None:
    r"""Reject lone surrogates (a JSON escape such as \ud800 alone): no UTF-8 file can hold them."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ConfigError(
                f"{where}: field '{field or '(entry)'}': contains a lone surrogate "
                f"({value[exc.start : exc.end]!a} at character {exc.start}), which is not text; "
                "remove it or write the whole character (a surrogate pair)"
            ) from exc
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            _check_unicode(where, inner, f"{field}.{key}" if field else str(key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _check_unicode(where, inner, f"{field}[{index}]")


def _json_file(path: Path, text: str) -> RawFile:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg} at column {exc.colno})") from exc
    if isinstance(document, list):
        lines = _array_element_lines(text)
        return RawFile({}, tuple(_as_item(f"{path}:{ln}", d) for ln, d in zip(lines, document, strict=True)))
    if isinstance(document, dict) and isinstance(document.get("prompts"), list):
        header = {k: v for k, v in document.items() if k != "prompts"}
        entries = document["prompts"]
        return RawFile(header, tuple(_as_item(f"{path}:prompts[{i}]", d) for i, d in enumerate(entries)))
    raise ConfigError(
        f"{path}: a .json prompt set must be a list of objects or an object with a 'prompts' list"
    )


def _array_element_lines(text: str) -> list[int]:
    """Line number where each element of a top-level JSON array starts."""
    decoder = json.JSONDecoder()
    index = text.index("[") + 1
    lines: list[int] = []
    while True:
        index = _skip_separators(text, index)
        if index >= len(text) or text[index] == "]":
            return lines
        lines.append(text.count("\n", 0, index) + 1)
        _, index = decoder.raw_decode(text, index)


def _skip_separators(text: str, index: int) -> int:
    while index < len(text) and (text[index].isspace() or text[index] == ","):
        index += 1
    return index


def _yaml_file(path: Path, text: str) -> RawFile:
    try:
        document = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{line}: invalid YAML ({exc})") from exc
    if not isinstance(document, dict) or not isinstance(document.get("prompts"), list):
        raise ConfigError(
            f"{path}: a YAML prompt set must be a mapping with 'name', 'version' and a 'prompts' list"
        )
    lines = _yaml_prompt_lines(node, len(document["prompts"]))
    header = {k: v for k, v in document.items() if k != "prompts"}
    items = tuple(_as_item(f"{path}:{ln}", d) for ln, d in zip(lines, document["prompts"], strict=True))
    return RawFile(header, items)


def _yaml_prompt_lines(node: yaml.Node | None, count: int) -> list[int]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if getattr(key, "value", None) == "prompts" and isinstance(value, yaml.SequenceNode):
                return [item.start_mark.line + 1 for item in value.value]
    return list(range(1, count + 1))
