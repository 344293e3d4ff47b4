"""Absolute grading: one response on a labelled scale or on several aspects.

Judges with ``multi_turn: per_turn`` grade every turn of a dialogue (one Grade per turn,
``Grade.turn`` set, 0-based); others grade the final turn, with earlier turns as context
("final_turn") or the whole conversation ("conversation").
"""

from __future__ import annotations

import asyncio
from statistics import fmean
from typing import Any

from evalkit.generators.base import CompletionRequest
from evalkit.judging.context import MissingReferenceError, grade_context
from evalkit.judging.engine import Complete, Reading
from evalkit.judging.llm_judge import LLMJudge
from evalkit.judging.logprobs import argmax_label
from evalkit.records import Grade, Prompt, Response


class LLMGrader(LLMJudge):
    """An LLM judge grading single responses.

    An implementation of ``Grader``; its arguments are ``LLMJudge``'s.
    """

    kind = "grade"

    @property
    def scale(self) -> str:
        """The scale's name (``Grade.scale``)."""
        return self.spec.scale_name

    async def grade_response(self, prompt: Prompt, response: Response, sample: int = 0) -> list[Grade]:
        """``grade`` with the bound complete function: the ``Grader`` seam."""
        return await self.grade(self._bound(), prompt, response, sample)

    def turns(self, prompt: Prompt) -> list[int]:
        """The 0-based turns this judge grades for a prompt."""
        if self.spec.multi_turn == "per_turn":
            return list(range(len(prompt.turns)))
        return [len(prompt.turns) - 1]

    def request(
        self, prompt: Prompt, response: Response, turn: int | None = None, sample: int = 0
    ) -> CompletionRequest:
        """The first request sent to the judge model (``turn`` defaults to the last graded turn).

        Raises:
            MissingReferenceError: The judge is reference-guided and the prompt has no reference.

        """
        graded = self.turns(prompt)[-1] if turn is None else turn
        return self._engine.request(self._context(prompt, response, graded), sample)

    async def grade(
        self, complete: Complete, prompt: Prompt, response: Response, sample: int = 0
    ) -> list[Grade]:
        """Grade a response: one Grade, or one per turn for per-turn judges. Never raises per item."""
        jobs = [self._grade_turn(complete, prompt, response, turn, sample) for turn in self.turns(prompt)]
        return list(await asyncio.gather(*jobs))

    async def _grade_turn(
        self, complete: Complete, prompt: Prompt, response: Response, turn: int, sample: int
    ) -> Grade:
        base: dict[str, Any] = {
            "prompt_id": prompt.id,
            "system": response.system,
            "scale": self.spec.scale_name,
            "source": self.source,
            "sample": sample,
            "response_sample": response.sample,
            "turn": turn if self.spec.multi_turn == "per_turn" else None,
            "reference_guided": self.spec.reference_guided,
        }
        problem = _unanswered(response, turn)
        if problem is not None:
            return self._failure(base, problem, sample)
        try:
            context = self._context(prompt, response, turn)
        except MissingReferenceError as exc:
            return self._failure(base, str(exc), sample)
        reading = await self._engine.read(complete, context, sample)
        return self._grade(base, reading, sample)

    def _context(self, prompt: Prompt, response: Response, turn: int) -> dict[str, Any]:
        return grade_context(self.spec, prompt, response, turn, structured=self._engine.structured)

    def _failure(self, base: dict[str, Any], error: str, sample: int) -> Grade:
        return Grade(**base, label=None, error=error, provenance=self._engine.provenance("", sample))

    def _grade(self, base: dict[str, Any], reading: Reading, sample: int) -> Grade:
        # On an exact tie in probability the label the judge actually wrote stands.
        label = reading.verdict.label
        if reading.probabilities is not None:
            label = argmax_label(reading.probabilities) or label
        return Grade(
            **base,
            label=label,
            score=self._score(label, reading.verdict.aspects),
            aspects=reading.verdict.aspects,
            probabilities=reading.probabilities,
            raw=reading.raw,
            rationale=reading.verdict.rationale,
            error=reading.error,
            provenance=self._engine.provenance(reading.model_id, sample),
        )

    def _score(self, label: str | None, aspects: dict[str, float] | None) -> float | None:
        if label is not None:
            return self.spec.label(label).score
        if aspects is None:
            return None
        counted = self.spec.score_aspects or tuple(aspects)
        return fmean(aspects[name] for name in counted)


def _unanswered(response: Response, turn: int) -> str | None:
    if response.error:
        return f"response of {response.system!r} has an error; not graded"
    if turn >= len(response.outputs):
        return f"response of {response.system!r} has no answer for turn {turn + 1}; not graded"
    return None
