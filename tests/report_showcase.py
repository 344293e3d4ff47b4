"""A synthetic run that exercises every part of the report (no model calls).

Five categories of very different sizes (one of 1 prompt, one of 3), both splits, a pairwise judge
whose verdicts mostly carry probabilities, a fail/pass/excellent grader and a Likert 1-6 grader that
only ever uses three of the six labels, an annotator who saw shuffled orders, judge and systems of
one model family, and a prompt set given by a long path. Used by the report tests and by
docs/screenshots/make_screenshots.py.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from report_helpers import finished_meta

from evalkit.generators.base import SamplingParams
from evalkit.records import (
    IN_DISTRIBUTION,
    OUT_OF_DISTRIBUTION,
    Grade,
    JudgeProvenance,
    Judgment,
    Order,
    Outcome,
    Prompt,
    Response,
    Usage,
    swap_outcome,
)
from evalkit.runner.config import JudgeConfig, RunConfig, SystemConfig
from evalkit.runner.meta import RunMeta, RunRecords

PROMPT_SET = "/home/researcher/projects/alignment-study/data/prompt-sets/curated/lima-style-eval-v3.jsonl"
CATEGORY_SIZES = (("advice", 16), ("coding", 14), ("writing", 6), ("math", 3), ("poetry", 1))
SYSTEMS = (
    ("lima-7b", "vllm//models/llama-2-7b-lima"),
    ("alpaca-7b", "vllm//models/llama-2-7b-alpaca"),
    ("gpt-4o-mini", "openai/gpt-4o-mini"),
    ("gpt-4-turbo", "openai/gpt-4-turbo"),
)
JUDGE_MODEL = "openai/gpt-4o"
PAIRWISE = ("lima-pairwise", "llm:lima-pairwise", "pairwise")
GRADE = ("lima-grade", "llm:lima-grade", "grade")
LIKERT = ("helpfulness-6", "llm:helpfulness-6", "grade")
LIKERT_SCALE = "helpfulness-1-6"
ANNOTATOR = "human:ann1"
WITHOUT_PROBABILITIES = frozenset({"p007", "p019", "p031"})
"""Prompts whose pairwise judgments came without probabilities (the weighted rate uses the rest)."""
NEVER_WITH_PROBABILITIES = "gpt-4-turbo"
"""The comparison with this system has no probabilities at all (its weighted rate is blank)."""


def showcase_prompts() -> tuple[Prompt, ...]:
    """40 prompts, alternating splits, in categories of 16, 14, 6, 3 and 1."""
    categories = [name for name, size in CATEGORY_SIZES for _ in range(size)]
    return tuple(
        Prompt(
            id=f"p{i:03d}",
            turns=(f"Request {i} ({category}): explain how to approach it, step by step.",),
            category=category,
            split=IN_DISTRIBUTION if i % 2 == 0 else OUT_OF_DISTRIBUTION,
        )
        for i, category in enumerate(categories)
    )


def _responses(prompts: Sequence[Prompt], rng: random.Random) -> list[Response]:
    return [
        Response(
            prompt_id=prompt.id,
            system=system,
            outputs=(f"{system} on {prompt.id}: " + "A careful step. " * rng.randint(3, 40),),
            model_id=spec.split("/")[-1],
            finish_reasons=("stop",),
            usage=Usage(prompt_tokens=30, completion_tokens=rng.randint(20, 400)),
        )
        for prompt in prompts
        for system, spec in SYSTEMS
    ]


def _probabilities(outcome: Outcome, order: Order, rng: random.Random) -> dict[Outcome, float]:
    shown = outcome if order == "ab" else swap_outcome(outcome)
    main = rng.uniform(0.55, 0.95)
    rest = (1.0 - main) / 2
    return {o: (main if o == shown else rest) for o in ("a", "b", "tie")}


def _pairwise(prompts: Sequence[Prompt], rng: random.Random) -> list[Judgment]:
    baseline = SYSTEMS[0][0]
    provenance = JudgeProvenance(judge=PAIRWISE[0], judge_version="1", model_spec=JUDGE_MODEL)
    judgments = []
    for index, (other, _) in enumerate(SYSTEMS[1:]):
        for prompt in prompts:
            weights = (5 - index, 2, 2 + index) if prompt.split == IN_DISTRIBUTION else (3, 2, 4 + index)
            outcome: Outcome = rng.choices(("a", "tie", "b"), weights=weights)[0]
            for order in ("ab", "ba"):
                given = swap_outcome(outcome) if order == "ba" and rng.random() < 0.12 else outcome
                probabilities = None
                if prompt.id not in WITHOUT_PROBABILITIES and other != NEVER_WITH_PROBABILITIES:
                    probabilities = _probabilities(given, order, rng)
                judgments.append(
                    Judgment(
                        prompt_id=prompt.id,
                        model_a=baseline,
                        model_b=other,
                        order=order,
                        source=PAIRWISE[1],
                        outcome=given,
                        raw=f"Verdict: {given}",
                        probabilities=probabilities,
                        provenance=provenance,
                    )
                )
    return judgments


def _human_labels(prompts: Sequence[Prompt], rng: random.Random) -> list[Judgment]:
    pair = (SYSTEMS[0][0], SYSTEMS[1][0])
    labels = []
    for prompt in prompts[::2]:
        order: Order = rng.choice(("ab", "ba"))
        outcome: Outcome = rng.choices(("a", "tie", "b"), weights=(5, 2, 3))[0]
        labels.append(
            Judgment(
                prompt_id=prompt.id,
                model_a=pair[0],
                model_b=pair[1],
                order=order,
                source=ANNOTATOR,
                outcome=outcome,
            )
        )
    return labels


def _grades(responses: Sequence[Response], rng: random.Random) -> list[Grade]:
    grades = []
    for response in responses:
        bonus = 0.15 if response.system.startswith("gpt") else 0.0
        label = rng.choices(("fail", "pass", "excellent"), weights=(0.25 - bonus, 0.35, 0.4 + bonus))[0]
        grades.append(
            Grade(
                prompt_id=response.prompt_id,
                system=response.system,
                scale="lima-3",
                source=GRADE[1],
                label=label,
                score=float(("fail", "pass", "excellent").index(label)),
                raw=label,
            )
        )
        likert = rng.choice(("3", "4", "4", "5"))  # the judge never used 1, 2 or 6
        grades.append(
            Grade(
                prompt_id=response.prompt_id,
                system=response.system,
                scale=LIKERT_SCALE,
                source=LIKERT[1],
                label=likert,
                score=float(likert),
                raw=likert,
            )
        )
    return grades


def _meta() -> RunMeta:
    judges = (PAIRWISE, GRADE, LIKERT)
    config = RunConfig(
        name="lima-style-ablation",
        prompts=PROMPT_SET,
        systems=tuple(
            SystemConfig(name=name, model=spec, template="chatml", params=SamplingParams(temperature=0.7))
            for name, spec in SYSTEMS
        ),
        judges=tuple(
            JudgeConfig(judge=name, model=JUDGE_MODEL, name=source[4:]) for name, source, _ in judges
        ),
    )
    return finished_meta(
        config, judges, JUDGE_MODEL, ("2025-03-01T09:00:00+00:00", "2025-03-01T09:41:10+00:00")
    )


def showcase_records(seed: int = 3) -> RunRecords:
    """The whole synthetic run (deterministic for a given seed)."""
    rng = random.Random(seed)
    prompts = showcase_prompts()
    responses = _responses(prompts, rng)
    return RunRecords(
        prompts=prompts,
        responses=tuple(responses),
        judgments=tuple(_pairwise(prompts, rng) + _human_labels(prompts, rng)),
        grades=tuple(_grades(responses, rng)),
        meta=_meta(),
    )
