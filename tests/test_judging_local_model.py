"""The default judges against the embedded Gemma 3 270M base model (real model, CPU).

The model is a weak judge; these tests check that the prompts make it emit the verdict
format and that verdicts come back with probabilities and provenance, not its judgement.
"""

from __future__ import annotations

import math

import pytest

from evalkit.judging import LLMGrader, LLMPairwiseJudge, load_judge
from tests.judging_helpers import packaged_gemma, prompt, response

pytestmark = pytest.mark.slow

MODEL = "local/gemma-3-270m"
QUESTION = "What is the capital of France?"
GOOD = response("good", "The capital of France is Paris.")
BAD = response("bad", "France is a country. I like cheese.")


@pytest.fixture(scope="module")
def local_model():
    return packaged_gemma()


async def test_lima_pairwise_emits_a_verdict_in_both_orders(local_model) -> None:
    judge = LLMPairwiseJudge(load_judge("lima-pairwise"), MODEL, supports_logprobs=True, text_prompt=True)
    verdicts = [
        await judge.judge(local_model.complete, prompt("q", QUESTION), GOOD, BAD, o) for o in ("ab", "ba")
    ]
    for verdict in verdicts:
        assert verdict.error is None
        assert verdict.outcome in {"a", "b", "tie"}, verdict.raw
        assert verdict.provenance is not None and "gemma" in verdict.provenance.model_id.lower()
        assert verdict.probabilities is not None
        assert math.isclose(sum(verdict.probabilities.values()), 1.0)
        assert set(verdict.probabilities) == {"a", "b", "tie"}


async def test_lima_grade_emits_a_label(local_model) -> None:
    grader = LLMGrader(load_judge("lima-grade"), MODEL, supports_logprobs=True, text_prompt=True)
    (grade,) = await grader.grade(local_model.complete, prompt("q", QUESTION), GOOD)
    assert grade.label in {"fail", "pass", "excellent"}, grade.raw
    assert grade.probabilities is not None
    assert grade.score == {"fail": 1.0, "pass": 2.0, "excellent": 3.0}[grade.label or ""]
