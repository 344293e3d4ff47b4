"""Failures section: generation errors, truncated responses, unparsed verdicts and grades, with raw text."""

from __future__ import annotations

from dataclasses import dataclass

from evalkit.records import Grade, Judgment, Response
from evalkit.report.index import ReportIndex, grade_scale
from evalkit.runner.meta import RunRecords


@dataclass(frozen=True, slots=True)
class FailureItem:
    """One failed item: where it is, who produced it, what went wrong, and the raw text."""

    prompt_id: str
    anchor: str
    who: str
    detail: str
    raw: str


@dataclass(frozen=True, slots=True)
class Failures:
    """Every failure of the run, by kind; none is dropped or scored."""

    generation_errors: tuple[FailureItem, ...]
    truncated: tuple[FailureItem, ...]
    unparsed_verdicts: tuple[FailureItem, ...]
    unparsed_grades: tuple[FailureItem, ...]
    empty: tuple[FailureItem, ...] = ()

    @property
    def total(self) -> int:
        """Number of failed items of all kinds."""
        kinds = (
            self.generation_errors,
            self.truncated,
            self.unparsed_verdicts,
            self.unparsed_grades,
            self.empty,
        )
        return sum(len(items) for items in kinds)


def build_failures(records: RunRecords, index: ReportIndex) -> Failures:
    """Collect every failed item of the run in record order."""
    return Failures(
        generation_errors=tuple(_response(r, index, r.error or "") for r in records.responses if r.error),
        truncated=tuple(
            _response(r, index, _truncation(r)) for r in records.responses if r.truncated and not r.error
        ),
        unparsed_verdicts=tuple(_judgment(j, index) for j in records.judgments if not j.parsed),
        unparsed_grades=tuple(_grade(g, index) for g in records.grades if not g.parsed),
        empty=tuple(_response(r, index, _emptiness(r)) for r in records.responses if r.empty),
    )


def _emptiness(response: Response) -> str:
    blank = [str(turn + 1) for turn, text in enumerate(response.outputs) if not text.strip()]
    return f"no text for turn {', '.join(blank)}: often a template mismatch (a chat endpoint on a base model)"


def _truncation(response: Response) -> str:
    tokens = response.usage.completion_tokens
    return f"stopped at the token limit after {tokens} tokens ({', '.join(response.finish_reasons)})"


def _response(response: Response, index: ReportIndex, detail: str) -> FailureItem:
    who = response.system if response.sample == 0 else f"{response.system} (sample {response.sample})"
    raw = "\n\n".join(response.outputs)
    return FailureItem(response.prompt_id, index.anchors.get(response.prompt_id, ""), who, detail, raw)


def _judgment(judgment: Judgment, index: ReportIndex) -> FailureItem:
    first = judgment.model_a if judgment.order == "ab" else judgment.model_b
    who = f"{judgment.source} · {judgment.model_a} vs {judgment.model_b} · {first} shown first"
    detail = judgment.error or "the verdict could not be parsed"
    anchor = index.anchors.get(judgment.prompt_id, "")
    return FailureItem(judgment.prompt_id, anchor, who, detail, judgment.raw)


def _grade(grade: Grade, index: ReportIndex) -> FailureItem:
    who = f"{grade.source} · {grade.system} · {grade_scale(grade)}"
    detail = grade.error or "the grade could not be parsed"
    return FailureItem(grade.prompt_id, index.anchors.get(grade.prompt_id, ""), who, detail, grade.raw)
