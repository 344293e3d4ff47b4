"""Pairwise judging: which of two responses is better, in one presentation order.

Labels are written in shown terms (first / second / tie); every Judgment is stored in
canonical terms (a = model_a), whatever order the judge saw. ``Judgment.label`` keeps
the code the judge wrote (shown terms), so a five-way "A>>B" in order "ba" means model_b
was much better; ``evalkit.judging.scoring.canonical_score`` turns it into model_a's score.
"""

from __future__ import annotations

from typing import Any

from evalkit.generators.base import CompletionRequest
from evalkit.judging.context import MissingReferenceError, pairwise_context
from evalkit.judging.engine import Complete, Reading
from evalkit.judging.llm_judge import LLMJudge
from evalkit.judging.logprobs import argmax_label
from evalkit.judging.spec import ShownOutcome
from evalkit.records import Judgment, Order, Outcome, Prompt, Response


def canonical_outcome(shown: ShownOutcome, order: Order) -> Outcome:
    """Map a verdict about the shown order (first / second / tie) to canonical a / b / tie."""
    if shown == "tie":
        return "tie"
    first_is_a = order == "ab"
    return "a" if (shown == "first") == first_is_a else "b"


class LLMPairwiseJudge(LLMJudge):
    """An LLM judge comparing two responses to one prompt.

    An implementation of ``PairwiseJudge``; its arguments are ``LLMJudge``'s.
    """

    kind = "pairwise"

    def request(
        self, prompt: Prompt, first: Response, second: Response, sample: int = 0
    ) -> CompletionRequest:
        """The first request sent to the judge model for this pair, in the order shown.

        Raises:
            MissingReferenceError: The judge is reference-guided and the prompt has no reference.

        """
        return self._engine.request(self._context(prompt, first, second), sample)

    async def judge_pair(
        self, prompt: Prompt, response_a: Response, response_b: Response, order: Order, sample: int = 0
    ) -> Judgment:
        """``judge`` with the bound complete function: the ``PairwiseJudge`` seam."""
        return await self.judge(self._bound(), prompt, response_a, response_b, order, sample)

    async def judge(
        self,
        complete: Complete,
        prompt: Prompt,
        response_a: Response,
        response_b: Response,
        order: Order,
        sample: int = 0,
    ) -> Judgment:
        """Judge one pair in one order; per-item failures are returned as data, never raised."""
        first, second = (response_a, response_b) if order == "ab" else (response_b, response_a)
        base: dict[str, Any] = {
            "prompt_id": prompt.id,
            "model_a": response_a.system,
            "model_b": response_b.system,
            "order": order,
            "source": self.source,
            "sample": sample,
            "response_sample": response_a.sample,
            "reference_guided": self.spec.reference_guided,
        }
        failed = next((r for r in (response_a, response_b) if r.error), None)
        if failed is not None:
            return self._failure(base, f"response of {failed.system!r} has an error; not judged", sample)
        try:
            context = self._context(prompt, first, second)
        except MissingReferenceError as exc:
            return self._failure(base, str(exc), sample)
        reading = await self._engine.read(complete, context, sample)
        return self._judgment(base, reading, order, sample)

    def _context(self, prompt: Prompt, first: Response, second: Response) -> dict[str, Any]:
        return pairwise_context(self.spec, prompt, first, second, structured=self._engine.structured)

    def _failure(self, base: dict[str, Any], error: str, sample: int) -> Judgment:
        return Judgment(**base, outcome=None, error=error, provenance=self._engine.provenance("", sample))

    def _judgment(self, base: dict[str, Any], reading: Reading, order: Order, sample: int) -> Judgment:
        label = reading.verdict.label
        outcome = self._outcome_of(label, order)
        probabilities = None
        if reading.probabilities is not None:
            probabilities = self._canonical_probabilities(reading.probabilities, order)
            label, outcome = self._most_probable(reading.probabilities, probabilities, order)
        return Judgment(
            **base,
            outcome=outcome,
            probabilities=probabilities,
            label=label,
            raw=reading.raw,
            rationale=reading.verdict.rationale,
            error=reading.error,
            provenance=self._engine.provenance(reading.model_id, sample),
        )

    def _outcome_of(self, label: str | None, order: Order) -> Outcome | None:
        if label is None:
            return None
        shown = self.spec.label(label).outcome
        return None if shown is None else canonical_outcome(shown, order)

    def _canonical_probabilities(self, by_label: dict[str, float], order: Order) -> dict[Outcome, float]:
        totals: dict[Outcome, float] = {}
        for code, probability in by_label.items():
            outcome = self._outcome_of(code, order)
            if outcome is not None:
                totals[outcome] = totals.get(outcome, 0.0) + probability
        return totals

    def _most_probable(
        self, by_label: dict[str, float], by_outcome: dict[Outcome, float], order: Order
    ) -> tuple[str | None, Outcome]:
        # Equal top probabilities mean the judge is undecided: "tie", with no label chosen.
        best = argmax_label({str(outcome): p for outcome, p in by_outcome.items()})
        outcome = next((o for o in by_outcome if o == best), None)
        if outcome is None:
            return None, "tie"
        candidates = {code: p for code, p in by_label.items() if self._outcome_of(code, order) == outcome}
        return argmax_label(candidates), outcome
