"""Example browser: every prompt with its responses, every verdict in both orders, and every grade.

Each example carries filter tokens (see ``evalkit.report.index``) so the page script, and the links
beside the numbers, can show exactly the examples behind a number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from evalkit.records import Grade, Judgment, Prompt, Response
from evalkit.report.formatting import pct
from evalkit.report.index import ReportIndex, grade_scale, token_part
from evalkit.runner.meta import RunRecords
from evalkit.stats import Verdict

VerdictKey = tuple[str, str, str, str, int]
"""(prompt_id, model_a, model_b, source, sample), as statistics group verdicts."""
Item = TypeVar("Item")
Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True, slots=True)
class GradeView:
    """One grade of one response."""

    scale: str
    source: str
    label: str
    score: float | None
    rationale: str
    raw: str
    error: str


@dataclass(frozen=True, slots=True)
class ResponseView:
    """One system's answer (all turns) with its grades."""

    system: str
    sample: int
    outputs: tuple[str, ...]
    error: str
    truncated: bool
    model_id: str
    completion_tokens: int
    grades: tuple[GradeView, ...]


@dataclass(frozen=True, slots=True)
class JudgmentView:
    """One judge call in one presentation order."""

    shown_first: str
    outcome: str
    rationale: str
    raw: str
    error: str
    probabilities: str


@dataclass(frozen=True, slots=True)
class VerdictView:
    """One judge's reconciled verdict on one comparison, with both orders behind it."""

    comparison_id: str
    source_id: str
    model_a: str
    model_b: str
    source: str
    sample: int
    outcome: str
    outcome_text: str
    flipped: bool
    inconsistent: bool
    judgments: tuple[JudgmentView, ...]


@dataclass(frozen=True, slots=True)
class ExampleView:
    """One prompt and everything produced for it."""

    prompt: Prompt
    anchor: str
    responses: tuple[ResponseView, ...]
    verdicts: tuple[VerdictView, ...]
    tokens: str


@dataclass(frozen=True, slots=True)
class ExampleBrowser:
    """All examples plus the choices the filter bar offers."""

    examples: tuple[ExampleView, ...]
    grade_options: tuple[tuple[str, str], ...]


def outcome_text(outcome: str | None, model_a: str, model_b: str) -> str:
    """A verdict in words, naming the winner."""
    return {"a": f"{model_a} better", "b": f"{model_b} better", "tie": "tie (neither better)"}.get(
        outcome or "", "unresolved"
    )


def build_examples(records: RunRecords, verdicts: Sequence[Verdict], index: ReportIndex) -> ExampleBrowser:
    """One example per prompt, in prompt-set order."""
    responses = _group(records.responses, lambda r: r.prompt_id)
    grades = _group(records.grades, lambda g: (g.prompt_id, g.system, g.response_sample))
    judgments = _group(records.judgments, lambda j: (j.prompt_id, j.model_a, j.model_b, j.source, j.sample))
    by_prompt = _group(verdicts, lambda v: v.prompt_id)
    unparsed = {j.prompt_id for j in records.judgments if not j.parsed}
    unparsed |= {g.prompt_id for g in records.grades if not g.parsed}
    examples = []
    for prompt in records.prompts:
        own = responses.get(prompt.id, [])
        response_views = tuple(_response(r, grades.get(r.key, [])) for r in own)
        verdict_views = tuple(_verdict(v, judgments, index) for v in by_prompt.get(prompt.id, []))
        own_grades = [g for r in own for g in grades.get(r.key, [])]
        tokens = _tokens(verdict_views, own, own_grades, index, failed_parse=prompt.id in unparsed)
        examples.append(ExampleView(prompt, index.anchors[prompt.id], response_views, verdict_views, tokens))
    return ExampleBrowser(tuple(examples), _grade_options(records.grades, index))


def _group(items: Sequence[Item], key: Callable[[Item], Key]) -> dict[Key, list[Item]]:
    grouped: dict[Key, list[Item]] = defaultdict(list)
    for item in items:
        grouped[key(item)].append(item)
    return grouped


def _response(response: Response, grades: Sequence[Grade]) -> ResponseView:
    return ResponseView(
        system=response.system,
        sample=response.sample,
        outputs=response.outputs,
        error=response.error or "",
        truncated=response.truncated,
        model_id=response.model_id,
        completion_tokens=response.usage.completion_tokens,
        grades=tuple(_grade(grade) for grade in grades),
    )


def _grade(grade: Grade) -> GradeView:
    return GradeView(
        scale=grade_scale(grade),
        source=grade.source,
        label=grade.label if grade.label is not None else "unparsed",
        score=grade.score,
        rationale=grade.rationale,
        raw=grade.raw,
        error=grade.error or "",
    )


def _verdict(
    verdict: Verdict, judgments: dict[VerdictKey, list[Judgment]], index: ReportIndex
) -> VerdictView:
    key = (verdict.prompt_id, verdict.model_a, verdict.model_b, verdict.source, verdict.sample)
    calls = sorted(judgments.get(key, []), key=lambda j: j.order)
    return VerdictView(
        comparison_id=index.comparison_id(verdict.model_a, verdict.model_b),
        source_id=index.source_id(verdict.source),
        model_a=verdict.model_a,
        model_b=verdict.model_b,
        source=verdict.source,
        sample=verdict.sample,
        outcome=verdict.outcome or "unresolved",
        outcome_text=outcome_text(verdict.outcome, verdict.model_a, verdict.model_b),
        flipped=verdict.flipped,
        inconsistent=verdict.inconsistent,
        judgments=tuple(_judgment(call) for call in calls),
    )


def _judgment(judgment: Judgment) -> JudgmentView:
    probabilities = judgment.probabilities or {}
    return JudgmentView(
        shown_first=judgment.model_a if judgment.order == "ab" else judgment.model_b,
        outcome=outcome_text(judgment.outcome, judgment.model_a, judgment.model_b),
        rationale=judgment.rationale,
        raw=judgment.raw,
        error=judgment.error or "",
        probabilities=", ".join(f"{key}: {pct(value)}" for key, value in probabilities.items()),
    )


def _tokens(
    verdicts: Sequence[VerdictView],
    responses: Sequence[Response],
    grades: Sequence[Grade],
    index: ReportIndex,
    *,
    failed_parse: bool,
) -> str:
    tokens = [f"v|{v.comparison_id}|{v.source_id}|{v.outcome}" for v in verdicts]
    tokens += [f"v|{v.comparison_id}|{v.source_id}|flip" for v in verdicts if v.flipped]
    tokens += [grade_token(g, index) for g in grades]
    tokens += ["f|generation" for r in responses if r.error]
    tokens += ["f|truncated" for r in responses if r.truncated]
    tokens += ["f|empty" for r in responses if r.empty]
    tokens += ["f|unparsed"] if failed_parse else []
    return " ".join(dict.fromkeys(tokens))


def grade_token(grade: Grade, index: ReportIndex) -> str:
    """The filter token of a grade: scale and source, system, label."""
    label = token_part(grade.label if grade.label is not None else "unparsed")
    return f"g|{index.grade_id(grade_scale(grade), grade.source)}|{index.system_id(grade.system)}|{label}"


def _grade_options(grades: Sequence[Grade], index: ReportIndex) -> tuple[tuple[str, str], ...]:
    options = {
        grade_token(g, index): f"{g.system} · {g.label or 'unparsed'} · {grade_scale(g)} ({g.source})"
        for g in grades
    }
    return tuple(sorted(options.items()))
