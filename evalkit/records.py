"""Frozen records that flow between stages and are stored as JSONL in the run directory.

Humans and LLM judges write the same Judgment and Grade records; only ``source`` differs
("llm:<judge name>" or "human:<annotator>"), so nothing downstream special-cases humans.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant"]
Outcome = Literal["a", "b", "tie"]
"""A pairwise verdict in canonical terms: model_a better, model_b better, or neither."""
Order = Literal["ab", "ba"]
"""Which response the judge saw first: "ab" shows model_a first, "ba" shows model_b first."""
IN_DISTRIBUTION = "in_distribution"
OUT_OF_DISTRIBUTION = "out_of_distribution"


class Record(BaseModel):
    """Base for all stored records: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Message(Record):
    """One chat message: a role (system, user or assistant) and its text."""

    role: Role
    content: str


class Prompt(Record):
    """One evaluation item.

    Attributes:
        id: Unique within its prompt set.
        turns: User turns; a single-turn prompt has one. Multi-turn prompts are answered
            turn by turn, each answer fed back before the next turn.
        category: Free-form label such as "advice" or "coding".
        split: "in_distribution", "out_of_distribution", or another label the set defines.
        reference: Optional reference answer (one per turn) for reference-guided judges.
        metadata: Anything else the set carries, kept verbatim.

    """

    id: str
    turns: tuple[str, ...] = Field(min_length=1)
    category: str = "uncategorized"
    split: str = "unspecified"
    reference: tuple[str, ...] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class Usage(Record):
    """Token counts as the backend reports them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


class Response(Record):
    """A system's answer to a prompt (all turns), or the error that prevented it.

    ``outputs`` holds one assistant message per prompt turn. ``error`` is set, and
    ``outputs`` may be short, when a call failed after retries; such responses are
    counted in the report and never judged.
    """

    prompt_id: str
    system: str
    sample: int = 0
    outputs: tuple[str, ...] = ()
    rendered_prompt: str = ""
    model_id: str = ""
    finish_reasons: tuple[str, ...] = ()
    usage: Usage = Usage()
    latency_s: float = 0.0
    error: str | None = None
    fingerprint: str = ""

    @property
    def text(self) -> str:
        """The final turn's answer (the whole answer for single-turn prompts)."""
        return self.outputs[-1] if self.outputs else ""

    @property
    def truncated(self) -> bool:
        """True when any turn stopped at the token limit."""
        return "length" in self.finish_reasons

    @property
    def empty(self) -> bool:
        """True when the call succeeded but some turn's answer is blank (often a template mismatch)."""
        return self.error is None and any(not output.strip() for output in self.outputs)

    @property
    def key(self) -> tuple[str, str, int]:
        """Identity used for resume and de-duplication."""
        return (self.prompt_id, self.system, self.sample)

    @classmethod
    def failure(cls, prompt_id: str, system: str, sample: int, error: str, fingerprint: str = "") -> Response:
        """The record of a response that could not be produced."""
        return cls(prompt_id=prompt_id, system=system, sample=sample, error=error, fingerprint=fingerprint)


class JudgeProvenance(Record):
    """What produced a verdict, so results can be reproduced and drift detected."""

    judge: str
    judge_version: str = ""
    model_spec: str = ""
    model_id: str = ""
    template_hash: str = ""
    params: dict[str, Any] = Field(default_factory=dict)


class Judgment(Record):
    """One pairwise verdict from one judge, in one presentation order.

    ``outcome`` is always in canonical terms (a = model_a) whatever the order shown.
    It is None when the verdict could not be parsed or the call failed; ``raw`` and
    ``error`` say why. Reconciling the two orders is done by the statistics layer.
    """

    prompt_id: str
    model_a: str
    model_b: str
    order: Order
    source: str
    outcome: Outcome | None
    sample: int = 0
    response_sample: int = 0
    probabilities: dict[Outcome, float] | None = None
    label: str | None = None
    raw: str = ""
    rationale: str = ""
    error: str | None = None
    reference_guided: bool = False
    provenance: JudgeProvenance | None = None
    fingerprint: str = ""

    @property
    def parsed(self) -> bool:
        """True when the verdict is usable for scoring."""
        return self.outcome is not None

    @property
    def key(self) -> tuple[str, str, str, str, str, int, int]:
        """Identity used for resume and de-duplication."""
        return (
            self.prompt_id,
            self.model_a,
            self.model_b,
            self.order,
            self.source,
            self.sample,
            self.response_sample,
        )

    @classmethod
    def failure(
        cls,
        prompt_id: str,
        pair: tuple[str, str],
        order: Order,
        source: str,
        error: str,
        *,
        sample: int = 0,
        response_sample: int = 0,
        fingerprint: str = "",
        provenance: JudgeProvenance | None = None,
    ) -> Judgment:
        """The record of a verdict that could not be given (an input failed, the call failed)."""
        model_a, model_b = pair
        return cls(
            prompt_id=prompt_id,
            model_a=model_a,
            model_b=model_b,
            order=order,
            source=source,
            outcome=None,
            sample=sample,
            response_sample=response_sample,
            error=error,
            fingerprint=fingerprint,
            provenance=provenance,
        )


class Grade(Record):
    """One absolute grade of one response by one judge.

    ``label`` is the scale's label ("fail" / "pass" / "excellent", "4", ...), ``score``
    its numeric value; ``aspects`` holds per-aspect scores for multi-aspect scales.
    ``turn`` is set for per-turn grades of dialogues. Unparsed grades have label and
    score None and keep ``raw``.
    """

    prompt_id: str
    system: str
    scale: str
    source: str
    label: str | None
    score: float | None = None
    sample: int = 0
    response_sample: int = 0
    turn: int | None = None
    aspects: dict[str, float] | None = None
    probabilities: dict[str, float] | None = None
    raw: str = ""
    rationale: str = ""
    error: str | None = None
    reference_guided: bool = False
    provenance: JudgeProvenance | None = None
    fingerprint: str = ""

    @property
    def parsed(self) -> bool:
        """True when the grade is usable for scoring."""
        return self.label is not None or self.aspects is not None

    @property
    def key(self) -> tuple[str, str, int, str, str, int, int | None]:
        """Identity used for resume and de-duplication."""
        return (
            self.prompt_id,
            self.system,
            self.response_sample,
            self.scale,
            self.source,
            self.sample,
            self.turn,
        )

    @property
    def item_key(self) -> tuple[str, str, int, str, str, int]:
        """The work item a grade belongs to: its key without the turn (per-turn grades share it)."""
        return self.key[:-1]

    @classmethod
    def failure(
        cls,
        prompt_id: str,
        system: str,
        scale: str,
        source: str,
        error: str,
        *,
        sample: int = 0,
        response_sample: int = 0,
        turn: int | None = None,
        fingerprint: str = "",
        provenance: JudgeProvenance | None = None,
    ) -> Grade:
        """The record of a grade that could not be given."""
        return cls(
            prompt_id=prompt_id,
            system=system,
            scale=scale,
            source=source,
            label=None,
            sample=sample,
            response_sample=response_sample,
            turn=turn,
            error=error,
            fingerprint=fingerprint,
            provenance=provenance,
        )


def swap_outcome(outcome: Outcome | None) -> Outcome | None:
    """Map a verdict about the shown order back to canonical terms (a<->b)."""
    if outcome == "a":
        return "b"
    if outcome == "b":
        return "a"
    return outcome
