"""The schema of a judge definition (judges/<name>.yaml).

A judge is data: labels or aspects, prompt templates, sampling parameters, the verdict
format and how to read log-probabilities. Adding a judge means adding a YAML file; this
schema rejects mistakes with a message naming the file and field (see ``loading``).

Pairwise labels are written in *shown* terms: ``outcome: first`` means the response the
judge saw first wins. The engine maps them to canonical a/b terms using the order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from evalkit.generators.base import SamplingParams

JudgeKind = Literal["pairwise", "grade"]
ShownOutcome = Literal["first", "second", "tie"]
VerdictFormat = Literal["label", "final_line", "aspects"]
MultiTurnMode = Literal["final_turn", "per_turn", "conversation"]

_SHOWN_WEIGHT: dict[str, float] = {"first": 1.0, "tie": 0.5, "second": 0.0}


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LabelSpec(_Strict):
    """One verdict label.

    Attributes:
        code: What the judge writes, e.g. "A", "pass", "4", "A>>B". Matched case-insensitively.
        name: Human description shown in reports, e.g. "A significantly better"; also
            accepted as a spelling of the label.
        aliases: Other exact spellings accepted as this label (e.g. "Response A").
        tokens: Token spellings that count for this label when reading log-probabilities;
            defaults to the code. Leading spaces, "▁"/"Ġ" markers and case are ignored.
        outcome: Pairwise only: which shown response this label favours.
        weight: Pairwise only: score credited to the response shown first, in [0, 1]
            (defaults: first 1.0, tie 0.5, second 0.0). The canonical score of model_a is
            ``weight`` in order "ab" and ``1 - weight`` in order "ba".
        score: Grades only: the numeric value of this label.

    """

    code: str = Field(min_length=1)
    name: str = ""
    aliases: tuple[str, ...] = ()
    tokens: tuple[str, ...] = ()
    outcome: ShownOutcome | None = None
    weight: float | None = Field(None, ge=0.0, le=1.0)
    score: float | None = None

    @property
    def spellings(self) -> tuple[str, ...]:
        """The code, the name and the aliases: every exact spelling accepted in text."""
        return tuple(dict.fromkeys(s for s in (self.code, self.name, *self.aliases) if s))

    @property
    def logprob_tokens(self) -> tuple[str, ...]:
        """Token spellings that count for this label in log-probabilities."""
        return self.tokens or (self.code,)

    @property
    def shown_weight(self) -> float:
        """Score of the response shown first under this label (pairwise)."""
        if self.weight is not None:
            return self.weight
        return _SHOWN_WEIGHT[self.outcome or "tie"]


class AspectSpec(_Strict):
    """One aspect of a multi-aspect grade, scored on an integer scale."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    description: str = ""
    minimum: int = 1
    maximum: int = 5

    @model_validator(mode="after")
    def _ordered(self) -> AspectSpec:
        if self.minimum >= self.maximum:
            raise ValueError(f"aspect {self.name!r}: minimum must be below maximum")
        return self


class TemplateSpec(_Strict):
    """Prompt templates (Jinja2). Either inline ``system``/``user`` or a ``file``.

    A template file holds two blocks, ``{% block system %}`` and ``{% block user %}``;
    its path is relative to the YAML file. With neither given, the loader looks for
    ``templates/<name>.j2`` beside the YAML file. ``file_text`` is filled by the loader.
    """

    system: str = ""
    user: str = ""
    file: str | None = None
    file_text: str = ""


class VerdictSpec(_Strict):
    """How the verdict is written and read back.

    Attributes:
        format: "label" (the answer is only the label), "final_line" (free text, then
            the label on a final marked line), or "aspects" (one score per aspect).
        markers: Line prefixes that introduce the verdict, e.g. "Verdict:"; matched
            case-insensitively, ignoring markdown emphasis.
        json_key: Key holding the label in JSON answers (structured output or fenced JSON).
        reask: Template of the single follow-up message sent when the first answer is
            unparsed; it sees the same variables as the prompt templates.
        reask_max_tokens: Token limit for the follow-up answer.
        structured_instruction: Appended to the user message when structured output is used.

    """

    format: VerdictFormat = "label"
    markers: tuple[str, ...] = ("verdict", "final verdict", "final answer", "final")
    json_key: str = "verdict"
    reask: str = (
        "Your previous reply did not follow the required format. Reply again with only the "
        "verdict, exactly one of: {{ labels | map(attribute='code') | join(', ') }}. Nothing else."
    )
    reask_max_tokens: int = Field(16, ge=1)
    structured_instruction: str = "Answer with a JSON object that follows the provided schema."


class LogprobSpec(_Strict):
    """Reading the verdict from token log-probabilities.

    Attributes:
        top: Alternatives to request per token (the backend's limit is usually 20).
        min_label_mass: The label tokens must carry at least this much probability at the
            verdict position; below it the probabilities are not trusted and the text
            verdict stands alone.

    """

    top: int = Field(10, ge=1, le=20)
    min_label_mass: float = Field(0.5, gt=0.0, le=1.0)


class ResampleSpec(_Strict):
    """Parameters for repeated judging (sample > 0); the seed becomes ``seed + sample``."""

    temperature: float = Field(0.7, ge=0.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)


class JudgeSpec(_Strict):
    """A validated judge definition. Build it with ``load_judge``."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    version: str = Field(min_length=1)
    kind: JudgeKind
    description: str = ""
    scale: str = ""
    labels: tuple[LabelSpec, ...] = ()
    aspects: tuple[AspectSpec, ...] = ()
    score_aspects: tuple[str, ...] = ()
    template: TemplateSpec = TemplateSpec()
    params: SamplingParams = SamplingParams()
    resample: ResampleSpec = ResampleSpec()
    verdict: VerdictSpec = VerdictSpec()
    logprobs: LogprobSpec | None = None
    reference_guided: bool = False
    multi_turn: MultiTurnMode = "final_turn"
    path: Path | None = Field(None, exclude=True)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: object) -> object:
        # YAML reads `version: 1.0` as a number; the version is a label, so keep it as text.
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _consistent(self) -> JudgeSpec:
        self._check_labels()
        self._check_aspects()
        if self.kind == "pairwise" and self.multi_turn == "per_turn":
            raise ValueError("multi_turn 'per_turn' is for grade judges; use 'conversation' or 'final_turn'")
        if self.logprobs is not None and self.verdict.format == "aspects":
            raise ValueError("logprobs cannot be read for the 'aspects' verdict format; remove 'logprobs'")
        return self

    def _check_labels(self) -> None:
        if self.verdict.format == "aspects":
            return
        if not self.labels:
            raise ValueError("labels: at least one label is required for this verdict format")
        spellings = [s for label in self.labels for s in {x.casefold() for x in label.spellings}]
        if len(spellings) != len(set(spellings)):
            raise ValueError("labels: two labels share a code or alias (compared case-insensitively)")
        if self.kind == "pairwise":
            outcomes = {label.outcome for label in self.labels}
            if None in outcomes or not {"first", "second"} <= outcomes:
                raise ValueError(
                    "labels: every pairwise label needs an outcome, and both 'first' and 'second' must occur"
                )
        elif any(label.score is None for label in self.labels):
            raise ValueError("labels: every grade label needs a numeric 'score'")

    def _check_aspects(self) -> None:
        if self.verdict.format != "aspects":
            return
        if self.kind != "grade" or not self.aspects:
            raise ValueError("verdict format 'aspects' needs kind 'grade' and a non-empty 'aspects' list")
        names = {aspect.name for aspect in self.aspects}
        unknown = set(self.score_aspects) - names
        if unknown:
            raise ValueError(f"score_aspects names unknown aspects: {sorted(unknown)}")

    @property
    def scale_name(self) -> str:
        """The name stored in Grade.scale: ``scale`` if set, else the judge name."""
        return self.scale or self.name

    def label(self, code: str) -> LabelSpec:
        """The label with this code (exact)."""
        return next(label for label in self.labels if label.code == code)

    @property
    def label_order(self) -> tuple[str, ...]:
        """Label codes in the order the YAML lists them (the scale order for grades)."""
        return tuple(label.code for label in self.labels)
