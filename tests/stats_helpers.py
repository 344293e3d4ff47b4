"""Builders for statistics tests: short ways to make judgments, verdicts, prompts and grades."""

from __future__ import annotations

from evalkit.records import Grade, JudgeProvenance, Judgment, Order, Outcome, Prompt, Response
from evalkit.stats import Verdict


def judgment(
    outcome: Outcome | None,
    order: Order = "ab",
    *,
    prompt: str = "p1",
    a: str = "A",
    b: str = "B",
    source: str = "llm:judge",
    sample: int = 0,
    error: str | None = None,
    probabilities: dict[Outcome, float] | None = None,
    model_spec: str = "",
) -> Judgment:
    provenance = JudgeProvenance(judge="judge", model_spec=model_spec) if model_spec else None
    return Judgment(
        prompt_id=prompt,
        model_a=a,
        model_b=b,
        order=order,
        source=source,
        outcome=outcome,
        sample=sample,
        error=error,
        probabilities=probabilities,
        provenance=provenance,
    )


def verdict(
    outcome: Outcome | None,
    *,
    prompt: str = "p1",
    a: str = "A",
    b: str = "B",
    source: str = "llm:judge",
    sample: int = 0,
    probabilities: dict[Outcome, float] | None = None,
) -> Verdict:
    orders = 0 if outcome is None else 2
    return Verdict(prompt, a, b, source, sample, outcome, orders, False, False, probabilities)


def verdicts(
    outcomes: str, *, a: str = "A", b: str = "B", source: str = "llm:judge", start: int = 0
) -> list[Verdict]:
    """One verdict per character, each on its own prompt: a, b, t (tie) or ? (unresolved)."""
    names: dict[str, Outcome | None] = {"a": "a", "b": "b", "t": "tie", "?": None}
    return [
        verdict(names[c], prompt=f"p{start + i}", a=a, b=b, source=source) for i, c in enumerate(outcomes)
    ]


def prompt(prompt_id: str, *, split: str = "in_distribution", category: str = "general") -> Prompt:
    return Prompt(id=prompt_id, turns=("question",), split=split, category=category)


def response(prompt_id: str, system: str, length: int, *, model_id: str = "") -> Response:
    return Response(prompt_id=prompt_id, system=system, outputs=("x" * length,), model_id=model_id)


def grade(
    label: str | None,
    *,
    prompt: str = "p1",
    system: str = "A",
    scale: str = "lima",
    score: float | None = None,
    turn: int | None = None,
    error: str | None = None,
    aspects: dict[str, float] | None = None,
) -> Grade:
    return Grade(
        prompt_id=prompt,
        system=system,
        scale=scale,
        source="llm:grader",
        label=label,
        score=score,
        turn=turn,
        error=error,
        aspects=aspects,
    )
