"""Annotators read the judge's own instructions and label definitions, minus the model-only parts."""

from __future__ import annotations

import pytest

from evalkit.human.instructions import instructions_for
from evalkit.judging import list_judges
from evalkit.judging.context import example_context
from evalkit.judging.templates import JudgeTemplates

JUDGES = [spec.name for spec in list_judges() if not spec.reference_guided]


@pytest.mark.parametrize("name", JUDGES)
def test_instructions_come_from_the_judge_prompt(name: str) -> None:
    instructions = instructions_for(name)
    prompt = JudgeTemplates(instructions.judge).render(example_context(instructions.judge)).user
    assert instructions.text
    assert instructions.text.splitlines()[0][:40] in prompt.replace("turn 1 of 1", "each turn").replace(
        "same 1 message(s)", "same messages"
    )
    assert "Reply with" not in instructions.text and "### " not in instructions.text
    assert [c.code for c in instructions.choices] == [label.code for label in instructions.judge.labels]
    for choice in instructions.choices:
        assert choice.definition in prompt or choice.definition == choice.title


def test_lima_definitions_are_shown_with_the_choices() -> None:
    grade = {c.code: c.definition for c in instructions_for("lima-grade").choices}
    assert grade["fail"].startswith("the answer does not do what was asked")
    pairwise = instructions_for("lima-pairwise")
    assert [(c.key, c.title) for c in pairwise.choices] == [
        ("1", "A significantly better"),
        ("2", "B significantly better"),
        ("3", "neither is significantly better"),
    ]
