"""The shipped prompt set: size, tags, and a balanced head for the quickstart."""

from __future__ import annotations

from collections import Counter

from evalkit.prompts import builtin_prompt_sets, load_prompt_set
from evalkit.records import IN_DISTRIBUTION, OUT_OF_DISTRIBUTION

REQUIRED_CATEGORIES = {
    "advice",
    "explanation",
    "writing",
    "planning",
    "coding",
    "reasoning",
    "summarisation",
    "brainstorming",
    "safety",
}


def test_lima_style_is_built_in_and_tagged() -> None:
    assert "lima_style" in builtin_prompt_sets()
    prompt_set = load_prompt_set("lima_style")
    assert len(prompt_set) >= 48
    assert set(prompt_set.splits) == {IN_DISTRIBUTION, OUT_OF_DISTRIBUTION}
    assert set(prompt_set.categories) >= REQUIRED_CATEGORIES
    assert all(p.metadata.get("format") for p in prompt_set), (
        "every prompt names its expected response format"
    )


def test_unsafe_prompts_expect_refusals_and_are_in_distribution() -> None:
    unsafe = load_prompt_set("lima_style").filter(categories=["safety"]).prompts
    assert len(unsafe) >= 3
    assert {p.metadata["format"] for p in unsafe} == {"refusal"}
    assert {p.split for p in unsafe} == {IN_DISTRIBUTION}


def test_split_follows_the_format_rule() -> None:
    in_formats = {"paragraph", "numbered list", "refusal"}
    for prompt in load_prompt_set("lima_style"):
        expected = IN_DISTRIBUTION if prompt.metadata["format"] in in_formats else OUT_OF_DISTRIBUTION
        assert prompt.split == expected, prompt.id


def test_has_short_multi_turn_dialogues() -> None:
    dialogues = [p for p in load_prompt_set("lima_style") if len(p.turns) > 1]
    assert 2 <= len(dialogues) <= 4
    assert all(len(p.turns) == 2 for p in dialogues)


def test_first_24_are_balanced_for_the_quickstart() -> None:
    head = load_prompt_set("lima_style").filter(limit=24).prompts
    splits = Counter(p.split for p in head)
    assert splits[IN_DISTRIBUTION] == splits[OUT_OF_DISTRIBUTION] == 12
    categories = Counter(p.category for p in head)
    assert set(categories) >= REQUIRED_CATEGORIES
    assert max(categories.values()) <= 5
    assert any(len(p.turns) > 1 for p in head)
