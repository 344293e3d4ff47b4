"""Labeling campaigns: which items people label, how many people per item, and checks.

A campaign is a YAML file (every field optional)::

    name: pilot
    seed: 0
    annotators: [alice, bob]          # links printed when the server starts
    tasks:
      - kind: pairwise                # or: grade
        judge: lima-pairwise          # labels and instructions come from this judge
        comparisons: [[cand, base]]   # default: the run's comparisons (grade: systems)
        items: 100                    # per comparison / system, stratified by split and category
        per_item: 1                   # annotators per item
        overlap: 50                   # items every annotator labels
    gold:                             # items with a known answer, scored silently
      - {prompt: p001, comparison: [cand, base], answer: a}
    attention_checks: 2               # on-topic vs off-topic answer pairs, scored silently
    live: {systems: [cand], max_turns: 4}   # live dialogues (two systems: side by side)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evalkit.errors import ConfigError
from evalkit.runner.config import read_yaml

Stratum = Literal["split", "category"]
DEFAULT_JUDGES = {"pairwise": "lima-pairwise", "grade": "lima-grade"}


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TaskGroup(_Strict):
    """One kind of item to label, drawn from the run's responses."""

    kind: Literal["pairwise", "grade"] = "pairwise"
    judge: str = ""
    comparisons: tuple[tuple[str, str], ...] | None = None
    systems: tuple[str, ...] | None = None
    items: int | None = Field(None, ge=1)
    stratify: tuple[Stratum, ...] = ("split", "category")
    per_item: int = Field(1, ge=1)
    overlap: int = Field(0, ge=0)

    @property
    def judge_name(self) -> str:
        """The judge whose labels and instructions the items use."""
        return self.judge or DEFAULT_JUDGES[self.kind]

    @model_validator(mode="after")
    def _fields_match_kind(self) -> TaskGroup:
        if self.kind == "pairwise" and self.systems is not None:
            raise ValueError("'systems' is for grade tasks; pairwise tasks take 'comparisons'")
        if self.kind == "grade" and self.comparisons is not None:
            raise ValueError("'comparisons' is for pairwise tasks; grade tasks take 'systems'")
        return self


class GoldItem(_Strict):
    """A run item with a known answer: pairwise 'a' / 'b' / 'tie', or a grade label."""

    prompt: str
    comparison: tuple[str, str] | None = None
    system: str | None = None
    answer: str = Field(min_length=1)

    @model_validator(mode="after")
    def _one_target(self) -> GoldItem:
        if (self.comparison is None) == (self.system is None):
            raise ValueError("give exactly one of 'comparison' (pairwise gold) or 'system' (grade gold)")
        if self.comparison is not None and self.answer not in ("a", "b", "tie"):
            raise ValueError("a pairwise gold answer is 'a', 'b' or 'tie' (in the comparison's order)")
        return self


class LiveSpec(_Strict):
    """Live dialogues: one system (graded per reply) or two side by side (compared at the end)."""

    systems: tuple[str, ...] = Field(min_length=1, max_length=2)
    max_turns: int = Field(5, ge=1, le=20)
    judge: str = "multi-turn-grade"
    pairwise_judge: str = "multi-turn-pairwise"


class Campaign(_Strict):
    """A validated campaign. Build it with ``load_campaign`` or ``Campaign()`` for the defaults."""

    name: str = Field("labels", pattern=r"^[A-Za-z0-9_.-]+$")
    seed: int = 0
    annotators: tuple[str, ...] = ()
    tasks: tuple[TaskGroup, ...] = (TaskGroup(),)
    gold: tuple[GoldItem, ...] = ()
    attention_checks: int = Field(0, ge=0)
    live: LiveSpec | None = None
    source: str = Field("<default campaign>", exclude=True)

    def check_against(self, systems: list[str], pairs: list[tuple[str, str]]) -> None:
        """Check every system a campaign names exists in the run.

        Raises:
            ConfigError: Names the campaign file and the field.

        """
        known = set(systems)
        problems = []
        for index, group in enumerate(self.tasks):
            named = [*(n for pair in group.comparisons or () for n in pair), *(group.systems or ())]
            problems += [f"tasks.{index}: unknown system {n!r}" for n in named if n not in known]
        for index, gold in enumerate(self.gold):
            named = [*(gold.comparison or ()), *([gold.system] if gold.system else [])]
            problems += [f"gold.{index}: unknown system {n!r}" for n in named if n not in known]
        if self.live is not None:
            problems += [f"live.systems: unknown system {n!r}" for n in self.live.systems if n not in known]
        if problems:
            raise ConfigError(
                f"{self.source}: " + "; ".join(problems) + f". The run's systems are: {', '.join(systems)}"
            )


def parse_campaign(data: Any, *, source: str) -> Campaign:
    """Validate a campaign mapping; errors name the source and each bad field."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a campaign must be a mapping (name, annotators, tasks, ...)")
    try:
        return Campaign.model_validate({**data, "source": source})
    except ValidationError as exc:
        lines = [f"{source}: invalid campaign"]
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "(top level)"
            lines.append(f"  - field '{where}': {error['msg']}")
        lines.append("Fix the fields above; the campaign format is described in evalkit/human/campaign.py.")
        raise ConfigError("\n".join(lines)) from exc


def load_campaign(path: Path | None) -> Campaign:
    """Read a campaign YAML file (None: the default campaign, one pairwise task over everything)."""
    if path is None:
        return Campaign()
    return parse_campaign(read_yaml(path, "campaign"), source=str(path))
