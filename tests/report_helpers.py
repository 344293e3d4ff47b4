"""Synthetic, deterministic run records for the report tests (no model calls)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from evalkit.generators.base import SamplingParams
from evalkit.records import (
    IN_DISTRIBUTION,
    OUT_OF_DISTRIBUTION,
    Grade,
    JudgeProvenance,
    Judgment,
    Outcome,
    Prompt,
    Response,
    Usage,
    swap_outcome,
)
from evalkit.runner.config import JudgeConfig, RunConfig, SystemConfig
from evalkit.runner.meta import Execution, ResolvedJudge, RunMeta, RunRecords

SCRIPT_PAYLOAD = "<script>document.title='PWNED';document.body.setAttribute('data-pwned','script')</script>"
IMG_PAYLOAD = "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">"
PAYLOAD = f"Here you go {SCRIPT_PAYLOAD} and {IMG_PAYLOAD} done."
CATEGORIES = ("advice", "coding", "writing")
PAIR_SOURCE = "llm:lima-pairwise"
GRADE_SOURCE = "llm:lima-grade"
HUMAN_SOURCE = "human:ann1"
GRADE_SCALE = "lima-3"
GRADE_LABELS = ("fail", "pass", "excellent")
JUDGE_PROVENANCE = JudgeProvenance(judge="lima-pairwise", judge_version="1", model_spec="local/gemma-3-270m")


def make_prompts(n: int) -> tuple[Prompt, ...]:
    """Half in-distribution, half out-of-distribution, categories cycling."""
    return tuple(
        Prompt(
            id=f"q{i:03d}",
            turns=(f"Question number {i}: how should I approach task {i}?",),
            category=CATEGORIES[i % len(CATEGORIES)],
            split=IN_DISTRIBUTION if i < n // 2 else OUT_OF_DISTRIBUTION,
        )
        for i in range(n)
    )


def make_response(prompt: Prompt, system: str, index: int, rng: random.Random) -> Response:
    text = f"{system} answers {prompt.id}. " + "Some detail. " * rng.randint(2, 30)
    if index == 0 and system == "lima":
        text = PAYLOAD
    if index == 1 and system == "alpaca":
        return Response(prompt_id=prompt.id, system=system, error="HTTP 500 after 3 retries", model_id="m")
    finish = ("length",) if index == 2 and system == "alpaca" else ("stop",)
    usage = Usage(prompt_tokens=20, completion_tokens=len(text.split()))
    return Response(
        prompt_id=prompt.id,
        system=system,
        outputs=(text,),
        model_id=f"{system}-model",
        finish_reasons=finish,
        usage=usage,
    )


def make_judgments(
    prompts: Sequence[Prompt],
    pairs: Sequence[tuple[str, str]],
    rng: random.Random,
    *,
    failed: set[tuple[str, str]],
) -> list[Judgment]:
    judgments: list[Judgment] = []
    for i, prompt in enumerate(prompts):
        for model_a, model_b in pairs:
            if (prompt.id, model_a) in failed or (prompt.id, model_b) in failed:
                continue
            canonical: Outcome = rng.choice(("a", "a", "b", "tie"))
            for order in ("ab", "ba"):
                outcome: Outcome | None = canonical
                if order == "ba" and i % 7 == 3:
                    outcome = swap_outcome(canonical)
                raw = f"Verdict: {outcome}. Rationale: {PAYLOAD if i == 0 else 'clear and correct'}"
                if i == 4 and order == "ba":
                    outcome, raw = None, "I cannot decide <b>between</b> these."
                judgments.append(
                    Judgment(
                        prompt_id=prompt.id,
                        model_a=model_a,
                        model_b=model_b,
                        order=order,  # type: ignore[arg-type]
                        source=PAIR_SOURCE,
                        outcome=outcome,
                        raw=raw,
                        rationale="clear and correct" if outcome else "",
                        provenance=JUDGE_PROVENANCE,
                    )
                )
    return judgments


def make_human_labels(prompts: Sequence[Prompt], pair: tuple[str, str], rng: random.Random) -> list[Judgment]:
    return [
        Judgment(
            prompt_id=prompt.id,
            model_a=pair[0],
            model_b=pair[1],
            order="ab",
            source=HUMAN_SOURCE,
            outcome=rng.choice(("a", "b", "tie")),
        )
        for prompt in prompts[5::2]
    ]


def make_grades(responses: Sequence[Response], rng: random.Random) -> list[Grade]:
    grades = []
    for i, response in enumerate(r for r in responses if not r.error):
        label: str | None = rng.choice(GRADE_LABELS)
        raw = f"Grade: {label}"
        if i == 3:
            label, raw = None, "Grade: somewhere between <i>pass</i> and fail"
        grades.append(
            Grade(
                prompt_id=response.prompt_id,
                system=response.system,
                scale=GRADE_SCALE,
                source=GRADE_SOURCE,
                label=label,
                score=float(GRADE_LABELS.index(label)) if label else None,
                raw=raw,
                rationale="meets the request" if label else "",
            )
        )
    return grades


def make_meta(systems: Sequence[str], judge_model: str) -> RunMeta:
    judges = [("lima-pairwise", PAIR_SOURCE, "pairwise"), ("lima-grade", GRADE_SOURCE, "grade")]
    config = RunConfig(
        name="lima-vs-baselines",
        prompts="lima-test",
        systems=tuple(
            SystemConfig(
                name=s, model=f"openai/{s}-model", template="chatml", params=SamplingParams(temperature=0.7)
            )
            for s in systems
        ),
        judges=tuple(
            JudgeConfig(judge=name, model=judge_model, name=source[4:]) for name, source, _ in judges
        ),
    )
    return finished_meta(
        config, judges, judge_model, ("2025-01-01T10:00:00+00:00", "2025-01-01T10:03:25+00:00")
    )


def finished_meta(
    config: RunConfig, judges: Sequence[tuple[str, str, str]], judge_model: str, times: tuple[str, str]
) -> RunMeta:
    """A finished run's meta: ``judges`` as (judge name, source, kind), one complete execution."""
    started, finished = times
    return RunMeta(
        name=config.name,
        prompt_set=config.prompts,
        config=config,
        judges=tuple(
            ResolvedJudge(source=source, judge=name, kind=kind, version="1", model=judge_model)
            for name, source, kind in judges
        ),
        status="finished",
        started_at=started,
        finished_at=finished,
        versions={"evalkit": "0.1.0", "python": "3.11"},
        executions=(Execution(started_at=started, finished_at=finished, status="complete"),),
    )


def make_records(
    n_prompts: int = 24,
    systems: Sequence[str] = ("lima", "alpaca"),
    *,
    humans: bool = True,
    judge_model: str = "local/gemma-3-270m",
    seed: int = 7,
) -> RunRecords:
    """A small LIMA-style run: every system against the first, both orders, grades, human labels.

    Prompt 0's "lima" response (and its judge rationale) carries script and img-onerror payloads;
    alpaca's answer to prompt 1 failed, to prompt 2 was truncated; prompt 4's second order is unparsed.
    """
    rng = random.Random(seed)
    prompts = make_prompts(n_prompts)
    responses = [make_response(p, s, i, rng) for i, p in enumerate(prompts) for s in systems]
    failed = {(r.prompt_id, r.system) for r in responses if r.error}
    pairs = [(systems[0], other) for other in systems[1:]]
    judgments = make_judgments(prompts, pairs, rng, failed=failed)
    if humans:
        judgments += make_human_labels(prompts, pairs[0], rng)
    return RunRecords(
        prompts=prompts,
        responses=tuple(responses),
        judgments=tuple(judgments),
        grades=tuple(make_grades(responses, rng)),
        meta=make_meta(systems, judge_model),
    )


ANNOTATORS = ("human:ann", "human:bob", "human:cy")
SECOND_JUDGE = "llm:second-opinion"


def make_human_study(n_prompts: int = 30, seed: int = 11) -> RunRecords:
    """Two LLM judges (both orders) and three annotators (one order each, shared items), with grades.

    The annotators follow a hidden preference (lima usually better); the first judge is biased
    towards lima, the second copies the hidden preference less often. Annotator "cy" labels the
    pair presented as (alpaca, lima), so matching has to swap it. Every annotator also grades.
    """
    rng = random.Random(seed)
    base = make_records(n_prompts, ("lima", "alpaca"), humans=False, seed=seed)
    truth = {p.id: rng.choice(("a", "a", "b", "tie")) for p in base.prompts}
    sampled = set(rng.sample([p.id for p in base.prompts], k=(2 * n_prompts) // 3))  # the labeled prompts
    labels: list[Judgment] = []
    for prompt in base.prompts:
        for source, keep in ((SECOND_JUDGE, 0.6), *((h, 0.75) for h in ANNOTATORS)):
            if source.startswith("human:") and (prompt.id not in sampled or rng.random() < 0.25):
                continue
            outcome: Outcome = truth[prompt.id] if rng.random() < keep else rng.choice(("a", "b", "tie"))
            orders = ("ab", "ba") if source == SECOND_JUDGE else (rng.choice(("ab", "ba")),)
            swapped = source == "human:cy"
            for order in orders:
                labels.append(
                    Judgment(
                        prompt_id=prompt.id,
                        model_a="alpaca" if swapped else "lima",
                        model_b="lima" if swapped else "alpaca",
                        order=order,  # type: ignore[arg-type]
                        source=source,
                        outcome=swap_outcome(outcome) if swapped else outcome,
                    )
                )
    grades = [
        Grade(
            prompt_id=g.prompt_id,
            system=g.system,
            scale=GRADE_SCALE,
            source=human,
            label=g.label if rng.random() < 0.7 else rng.choice(GRADE_LABELS),
        )
        for g in base.grades
        if g.label is not None
        for human in ANNOTATORS[:2]
    ]
    return base.model_copy(
        update={"judgments": base.judgments + tuple(labels), "grades": base.grades + tuple(grades)}
    )
