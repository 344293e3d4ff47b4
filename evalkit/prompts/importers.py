"""Map public benchmark files onto evalkit's prompt fields.

Each importer turns one entry of a public format into an entry of evalkit's own format,
which then goes through the same validation as a native prompt set. Model outputs
stored beside the prompts in those files are left out: they are responses, not prompts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Literal, get_args

from evalkit.errors import ConfigError
from evalkit.prompts.readers import RawFile, RawItem

PromptFormat = Literal["auto", "native", "mt_bench", "alpaca_eval", "just_eval", "arena_hard"]
FORMATS: tuple[PromptFormat, ...] = get_args(PromptFormat)


def alpaca_eval_prompt_id(instruction: str) -> str:
    """Stable id for an AlpacaEval instruction (the format has none): a hash of its text.

    The same instruction gets the same id in every model's output file, whatever the order.
    """
    digest = hashlib.sha256(instruction.strip().encode("utf-8")).hexdigest()
    return f"alpaca_eval-{digest[:12]}"


def _require(item: RawItem, field: str, format_name: str) -> Any:
    if field not in item.data:
        raise item.error(
            field, f"missing from a {format_name} entry", "Check that the file really is in that format"
        )
    return item.data[field]


def _mt_bench(item: RawItem) -> RawItem:
    data = {
        "id": _require(item, "question_id", "MT-Bench"),
        "turns": _require(item, "turns", "MT-Bench"),
        "category": item.data.get("category", "uncategorized"),
        "metadata": {"source": "mt_bench"},
    }
    if item.data.get("reference") is not None:
        data["reference"] = item.data["reference"]
    return RawItem(item.where, data)


def _alpaca_eval(item: RawItem) -> RawItem:
    instruction = _require(item, "instruction", "AlpacaEval")
    if not isinstance(instruction, str):
        raise item.error(
            "instruction", "must be a string", "Check that the file is an AlpacaEval outputs file"
        )
    data = {
        "id": alpaca_eval_prompt_id(instruction),
        "prompt": instruction,
        "category": item.data.get("dataset", "uncategorized"),
        "metadata": {"source": "alpaca_eval"},
    }
    return RawItem(item.where, data)


def _just_eval(item: RawItem) -> RawItem:
    kept = ("source_id", "dataset", "task", "topic", "difficulty")
    data = {
        "id": _require(item, "id", "just-eval"),
        "prompt": _require(item, "instruction", "just-eval"),
        "category": item.data.get("category", "uncategorized"),
        "metadata": {"source": "just_eval", **{k: item.data[k] for k in kept if k in item.data}},
    }
    return RawItem(item.where, data)


def _arena_hard_text(item: RawItem) -> Any:
    if "prompt" in item.data:
        return item.data["prompt"]
    turns = _require(item, "turns", "Arena-Hard")
    first = turns[0] if isinstance(turns, list) and turns else None
    if not isinstance(first, dict) or "content" not in first:
        raise item.error(
            "turns", "must be a list of {content: text}", "Check that it is an Arena-Hard question.jsonl"
        )
    return first["content"]


def _arena_hard(item: RawItem) -> RawItem:
    """v2 entries carry uid / prompt / subcategory, v0.1 entries question_id / turns / cluster."""
    key = "uid" if "uid" in item.data else "question_id"
    cluster = item.data.get("subcategory") or item.data.get("cluster")
    data = {
        "id": _require(item, key, "Arena-Hard"),
        "prompt": _arena_hard_text(item),
        "category": item.data.get("category") or "uncategorized",
        "metadata": {"source": "arena_hard", **({"cluster": str(cluster)} if cluster else {})},
    }
    return RawItem(item.where, data)


_IMPORTERS: dict[str, Callable[[RawItem], RawItem]] = {
    "mt_bench": _mt_bench,
    "alpaca_eval": _alpaca_eval,
    "just_eval": _just_eval,
    "arena_hard": _arena_hard,
}


def detect_format(raw: RawFile) -> PromptFormat:
    """Guess a file's format from the fields of its first entry."""
    if raw.header or not raw.items:
        return "native"
    first = raw.items[0].data
    if "question_id" in first and "turns" in first:
        return "mt_bench"
    if "instruction" in first and "source_id" in first:
        return "just_eval"
    if "instruction" in first and "id" not in first and ("dataset" in first or "output" in first):
        return "alpaca_eval"
    if "uid" in first and "prompt" in first:
        return "arena_hard"
    return "native"


def to_native(raw: RawFile, format: PromptFormat, where: str) -> tuple[RawItem, ...]:
    """Convert every entry of a file to evalkit's own fields."""
    if format not in FORMATS:
        raise ConfigError(f"{where}: unknown prompt format {format!r}; use one of {', '.join(FORMATS)}")
    chosen = detect_format(raw) if format == "auto" else format
    importer = _IMPORTERS.get(chosen)
    return raw.items if importer is None else tuple(importer(item) for item in raw.items)
