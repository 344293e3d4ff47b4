"""Prompt groups (all / split / category) shared by the report sections: order, names, lookups."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from evalkit.records import IN_DISTRIBUTION, OUT_OF_DISTRIBUTION, Prompt

ALL = "all"
UNSPECIFIED_SPLIT = "unspecified"
_NAMES = {ALL: "All prompts", IN_DISTRIBUTION: "In-distribution", OUT_OF_DISTRIBUTION: "Out-of-distribution"}
_FIRST = (ALL, IN_DISTRIBUTION, OUT_OF_DISTRIBUTION)


def group_name(group: str) -> str:
    """Display name of a group label ("all", a split or a category)."""
    return _NAMES.get(group, group)


def ordered_groups(groups: Iterable[str]) -> list[str]:
    """All first, then in- and out-of-distribution, then the rest alphabetically."""
    unique = set(groups)
    known = [group for group in _FIRST if group in unique]
    return known + sorted(unique - set(_FIRST))


def splits_to_show(prompts: Sequence[Prompt]) -> list[str]:
    """The splits worth a facet of their own: none when every prompt is unspecified."""
    splits = {prompt.split for prompt in prompts}
    return [] if splits <= {UNSPECIFIED_SPLIT} else ordered_groups(splits)


def categories_of(prompts: Sequence[Prompt]) -> list[str]:
    """The categories present, alphabetically."""
    return sorted({prompt.category for prompt in prompts})


def has_both_splits(prompts: Sequence[Prompt]) -> bool:
    """True when an in- versus out-of-distribution gap can be tested."""
    splits = {prompt.split for prompt in prompts}
    return IN_DISTRIBUTION in splits and OUT_OF_DISTRIBUTION in splits
