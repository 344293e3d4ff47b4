"""Constrained verdicts on the embedded Gemma 3 270M base model (real model, CPU).

Unconstrained, this model does not write the Likert digit or the aspects' JSON object; under
the grammar it can write nothing else. Its judgement is not tested, only that it parses.
About 7 s on an idle CPU, so not marked slow.
"""

from __future__ import annotations

import pytest

from evalkit.judging import LLMGrader, load_judge
from tests.judging_helpers import packaged_gemma, prompt, response

MODEL = "local/gemma-3-270m"
QUESTION = "How do I boil an egg?"
ANSWER = response("x", "Put the egg in boiling water for eight minutes, then cool it in cold water.")


@pytest.fixture(scope="module")
def local_model():
    return packaged_gemma()


async def test_the_constrained_likert_judge_writes_one_digit(local_model) -> None:
    grader = LLMGrader(
        load_judge("helpfulness-6"), MODEL, supports_logprobs=True, text_prompt=True, supports_grammar=True
    )
    (grade,) = await grader.grade(local_model.complete, prompt("q", QUESTION), ANSWER)
    assert grade.error is None
    assert grade.raw in {"1", "2", "3", "4", "5", "6"}  # first answer, no re-ask
    assert grade.score == float(grade.raw)
    assert grade.provenance is not None and grade.provenance.params["constrained"] == "grammar"


async def test_the_constrained_aspects_judge_writes_every_aspect(local_model) -> None:
    spec = load_judge("aspects-5")
    grader = LLMGrader(spec, MODEL, text_prompt=True, supports_grammar=True)
    (grade,) = await grader.grade(local_model.complete, prompt("q", QUESTION), ANSWER)
    assert grade.error is None and "asked again" not in grade.raw
    assert grade.aspects is not None and set(grade.aspects) == {a.name for a in spec.aspects}
    assert all(1 <= score <= 5 for score in grade.aspects.values())
