"""Stable short ids for comparisons, judges, grade scales, systems and prompts.

The ids tie every number in the report to the examples behind it: example cards carry filter
tokens built from them ("v|c0|s0|a": comparison c0, judge s0, first-named system won), and
links next to the numbers set the example filter to the same tokens.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from evalkit.records import Grade
from evalkit.runner.meta import RunRecords
from evalkit.stats import Verdict


@dataclass(frozen=True, slots=True)
class ReportIndex:
    """Id lookups shared by all sections of one report."""

    comparisons: tuple[tuple[str, str], ...]
    sources: tuple[str, ...]
    grade_keys: tuple[tuple[str, str], ...]
    systems: tuple[str, ...]
    anchors: dict[str, str]

    def comparison_id(self, model_a: str, model_b: str) -> str:
        """Id of a comparison (ordered pair of systems as judged)."""
        return f"c{self.comparisons.index((model_a, model_b))}"

    def source_id(self, source: str) -> str:
        """Id of a pairwise judge source."""
        return f"s{self.sources.index(source)}"

    def grade_id(self, scale: str, source: str) -> str:
        """Id of a grade scale as judged by one source."""
        return f"k{self.grade_keys.index((scale, source))}"

    def system_id(self, system: str) -> str:
        """Id of a system."""
        return f"y{self.systems.index(system)}"


def token_part(text: str) -> str:
    """Make free text (a grade label) usable inside a space-separated, |-delimited filter token."""
    return re.sub(r"[\s|]+", "_", text)


def grade_scale(grade: Grade) -> str:
    """The scale name statistics report a grade under (per-turn grades get a /turnN suffix)."""
    return grade.scale if grade.turn is None else f"{grade.scale}/turn{grade.turn + 1}"


def build_index(records: RunRecords, verdicts: Sequence[Verdict]) -> ReportIndex:
    """Assign ids in first-seen order, so the same run always gets the same ids."""
    systems = dict.fromkeys(
        [*(r.system for r in records.responses), *(g.system for g in records.grades)]
        + [name for v in verdicts for name in (v.model_a, v.model_b)]
    )
    return ReportIndex(
        comparisons=tuple(dict.fromkeys((v.model_a, v.model_b) for v in verdicts)),
        sources=tuple(dict.fromkeys(v.source for v in verdicts)),
        grade_keys=tuple(dict.fromkeys((grade_scale(g), g.source) for g in records.grades)),
        systems=tuple(systems),
        anchors=_anchors([prompt.id for prompt in records.prompts]),
    )


def _anchors(prompt_ids: Sequence[str]) -> dict[str, str]:
    """HTML ids for prompts: readable, unique, and limited to safe characters."""
    anchors: dict[str, str] = {}
    for position, prompt_id in enumerate(prompt_ids):
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", prompt_id).strip("-")[:40]
        anchors[prompt_id] = f"p{position}-{slug}" if slug else f"p{position}"
    return anchors
