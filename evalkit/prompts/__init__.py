"""Prompt sets: load built-in, public-benchmark or user files into frozen Prompt records.

A source is a path (.jsonl, .json, .yaml, .yml), the name of a built-in set in the
project's ``prompts/`` folder (or in ``$EVALKIT_PROMPTS_DIR``, searched first), or the name
of a public benchmark's prompts (``alpaca_eval``, ``mt_bench``, ``vicuna``, ``lima``,
``arena_hard``; see ``evalkit.prompts.public``), fetched from the Hugging Face Hub on first use.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from evalkit.catalog import PROMPT_SETS, entries, find, search_dirs
from evalkit.errors import ConfigError
from evalkit.prompts.fields import parse_prompt
from evalkit.prompts.importers import FORMATS, PromptFormat, alpaca_eval_prompt_id, detect_format, to_native
from evalkit.prompts.public import PUBLIC_SETS, PublicSet, fetch
from evalkit.prompts.readers import RawFile, read_file
from evalkit.records import Prompt

__all__ = [
    "FORMATS",
    "PUBLIC_SETS",
    "PromptFormat",
    "PromptSet",
    "alpaca_eval_prompt_id",
    "builtin_prompt_sets",
    "detect_format",
    "dump_prompt_set",
    "load_prompt_set",
    "prompts_dirs",
]

PROMPTS_DIR_ENV = PROMPT_SETS.env
_SUFFIXES = (".jsonl", ".yaml", ".yml", ".json")


@dataclass(frozen=True)
class PromptSet:
    """A named, versioned, ordered collection of prompts.

    Attributes:
        name: The set's declared name, or the file's stem.
        version: The declared version, or "sha256:<first 12 hex>" of the file's bytes.
        path: The file it was loaded from (None for sets built in memory).
        prompts: The prompts in file order.

    """

    name: str
    version: str
    path: Path | None
    prompts: tuple[Prompt, ...]

    def __len__(self) -> int:
        return len(self.prompts)

    def __iter__(self) -> Iterator[Prompt]:
        return iter(self.prompts)

    @property
    def categories(self) -> tuple[str, ...]:
        """Distinct categories in first-seen order."""
        return tuple(dict.fromkeys(p.category for p in self.prompts))

    @property
    def splits(self) -> tuple[str, ...]:
        """Distinct splits in first-seen order."""
        return tuple(dict.fromkeys(p.split for p in self.prompts))

    def filter(
        self,
        limit: int | None = None,
        categories: Collection[str] | None = None,
        splits: Collection[str] | None = None,
    ) -> PromptSet:
        """Keep prompts of the given categories and splits, then the first ``limit`` of them.

        Raises:
            ConfigError: A requested category or split does not occur in the set, the
                filters together select no prompt, or ``limit`` is below 1.

        """
        _check_known("category", categories, self.categories, self.name)
        _check_known("split", splits, self.splits, self.name)
        if limit is not None and limit < 1:
            raise ConfigError(f"prompt limit must be at least 1, got {limit}")
        kept = [
            p
            for p in self.prompts
            if (categories is None or p.category in categories) and (splits is None or p.split in splits)
        ]
        if self.prompts and not kept:
            raise ConfigError(
                f"prompt set {self.name!r}: no prompt has {_wanted(categories, splits)}; "
                f"categories here: {', '.join(self.categories)}; splits: {', '.join(self.splits)}. "
                "Change the fields 'categories' / 'splits'"
            )
        return replace(self, prompts=tuple(kept[:limit]))


def _wanted(categories: Collection[str] | None, splits: Collection[str] | None) -> str:
    parts = []
    if categories is not None:
        parts.append(f"a category in [{', '.join(categories)}]")
    if splits is not None:
        parts.append(f"a split in [{', '.join(splits)}]")
    return " and ".join(parts)


def _check_known(kind: str, wanted: Collection[str] | None, known: tuple[str, ...], name: str) -> None:
    unknown = sorted(set(wanted or ()) - set(known))
    if unknown:
        raise ConfigError(
            f"prompt set {name!r} has no {kind} {', '.join(map(repr, unknown))}; known: {', '.join(known)}"
        )


def prompts_dirs() -> tuple[Path, ...]:
    """Folders searched for prompt sets by name (see ``evalkit.catalog``)."""
    return search_dirs(PROMPT_SETS)


def builtin_prompt_sets() -> dict[str, Path]:
    """Name -> file of every prompt set found in the search folders (earlier folders win)."""
    return entries(PROMPT_SETS)


def resolve_source(source: str | Path) -> Path:
    """Turn a path or built-in set name into an existing file."""
    path = Path(source).expanduser()
    if path.is_file():
        return path
    if isinstance(source, str) and os.sep not in source:
        return find(PROMPT_SETS, source)
    raise ConfigError(f"prompt set file {path} does not exist; check the path or name a built-in set")


def _public_set(source: str | Path) -> PublicSet | None:
    """The public set a source names, unless a file or a built-in set of that name exists."""
    if not isinstance(source, str) or source not in PUBLIC_SETS or Path(source).expanduser().exists():
        return None
    return None if source in builtin_prompt_sets() else PUBLIC_SETS[source]


def load_prompt_set(source: str | Path, format: PromptFormat = "auto") -> PromptSet:
    """Load and validate a prompt set.

    Args:
        source: A .jsonl / .json / .yaml / .yml path, a built-in set name such as "lima_style",
            or a public set's name ("alpaca_eval", "mt_bench", "vicuna", "lima", "arena_hard":
            fetched from the Hugging Face Hub at a pinned revision, or read from a local copy;
            its own format is used).
        format: "native" (evalkit's fields), "mt_bench" (question.jsonl), "alpaca_eval"
            (model_outputs.json), "just_eval" (*.to_eval.json), or "auto" to detect it.

    Returns:
        The prompts in file order, with the set's name and version.

    Raises:
        ConfigError: The file is missing or invalid; the message names file:line and field.

    """
    public = _public_set(source)
    if public is not None:
        return _load_public(public)
    path = resolve_source(source)
    raw, prompts = _parse(path, format)
    return PromptSet(_header(raw, "name", path.stem), _header(raw, "version", _digest(path)), path, prompts)


def _parse(path: Path, format: PromptFormat) -> tuple[RawFile, tuple[Prompt, ...]]:
    raw = read_file(path)
    prompts = tuple(parse_prompt(item) for item in to_native(raw, format, str(path)))
    _check_unique(prompts, raw)
    if not prompts:
        raise ConfigError(f"{path}: the prompt set is empty; add at least one prompt")
    return raw, prompts


def _load_public(public: PublicSet) -> PromptSet:
    path = fetch(public)
    _, prompts = _parse(path, public.format)
    if public.subset is not None:
        field, value = public.subset
        prompts = tuple(p for p in prompts if str(p.metadata.get(field)) == value)
        if not prompts:
            raise ConfigError(f"{path}: no entry has {field} {value!r}; is it {public.url}?")
    return PromptSet(public.name, public.version, path, prompts)


def _header(raw: RawFile, field: str, default: str) -> str:
    value = raw.header.get(field, default)
    if not isinstance(value, str | int | float) or isinstance(value, bool) or not str(value).strip():
        raise ConfigError(f"prompt set header field '{field}' must be a non-empty string, got {value!r}")
    return str(value)


def _digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _check_unique(prompts: tuple[Prompt, ...], raw: RawFile) -> None:
    first_seen: dict[str, str] = {}
    for prompt, item in zip(prompts, raw.items, strict=True):
        if prompt.id in first_seen:
            raise item.error(
                "id",
                f"duplicate id {prompt.id!r} (first used at {first_seen[prompt.id]})",
                "Make every id unique",
            )
        first_seen[prompt.id] = item.where


def dump_prompt_set(prompt_set: PromptSet | tuple[Prompt, ...], path: Path) -> None:
    """Write prompts as evalkit JSONL (one Prompt record per line); load_prompt_set reads it back."""
    prompts = prompt_set.prompts if isinstance(prompt_set, PromptSet) else prompt_set
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (json.dumps(p.model_dump(mode="json", exclude_none=True), ensure_ascii=False) for p in prompts)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
