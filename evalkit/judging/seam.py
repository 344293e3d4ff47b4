"""The judge seam: what any verdict source implements, LLM judges being one implementation.

A human label source, a reward model or a file of imported verdicts is just another
implementation: the runner asks a ``PairwiseJudge`` for one Judgment per pair and order,
and a ``Grader`` for the Grades of one response. Implementations return failures as
records (``Judgment.failure``, ``Grade.failure``), never raise them per item.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from evalkit.records import Grade, Judgment, Order, Prompt, Response


@runtime_checkable
class PairwiseJudge(Protocol):
    """Compares two responses to one prompt, shown in one order.

    Attributes:
        source: The ``Judgment.source`` of its verdicts, e.g. "llm:lima-pairwise@openai/gpt-4o".
        fingerprint: Digest of everything that determines its verdicts (definition, template,
            parameters, model); a change makes a re-run redo its verdicts.

    """

    source: str
    fingerprint: str

    async def judge_pair(
        self, prompt: Prompt, response_a: Response, response_b: Response, order: Order, sample: int
    ) -> Judgment:
        """One verdict in canonical terms (a = response_a's system), whatever order was shown."""
        ...


@runtime_checkable
class Grader(Protocol):
    """Grades one response on a scale.

    Attributes:
        source: The ``Grade.source`` of its grades.
        fingerprint: Digest of everything that determines its grades.
        scale: The scale's name, e.g. "fail-pass-excellent".

    """

    source: str
    fingerprint: str
    scale: str

    def turns(self, prompt: Prompt) -> list[int]:
        """The 0-based turns it grades for a prompt: one Grade per turn listed."""
        ...

    async def grade_response(self, prompt: Prompt, response: Response, sample: int) -> list[Grade]:
        """The grades of one response, one per turn of ``turns(prompt)``."""
        ...
