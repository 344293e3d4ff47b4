"""Judge diagnostics and agreement: how far each judge can be trusted, and how judges (and humans) agree."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from evalkit.report.header import HUMAN_PREFIX
from evalkit.runner.meta import RunRecords
from evalkit.stats import Agreement, JudgeDiagnostics, Verdict, agreement_matrix, judge_diagnostics

HIGH_FLIP_RATE = 0.2
HIGH_UNPARSED_RATE = 0.05
POSITION_BIAS_MARGIN = 0.15
"""First-position preference further than this from 50% is highlighted."""


def is_human(source: str) -> bool:
    """True for human labels (source "human:<annotator>")."""
    return source.startswith(HUMAN_PREFIX)


@dataclass(frozen=True, slots=True)
class JudgeSection:
    """Diagnostics per pairwise judge source and agreement tables between sources."""

    diagnostics: tuple[JudgeDiagnostics, ...]
    judge_human: tuple[Agreement, ...]
    judge_judge: tuple[Agreement, ...]
    human_human: tuple[Agreement, ...]

    @staticmethod
    def flagged(diagnostics: JudgeDiagnostics) -> frozenset[str]:
        """Names of the diagnostics that look worrying, for highlighting in the table."""
        checks = {
            "position_flip_rate": diagnostics.position_flip_rate > HIGH_FLIP_RATE,
            "unparsed_rate": diagnostics.unparsed_rate > HIGH_UNPARSED_RATE,
            "first_position_preference": _bias(diagnostics.first_position_preference) > POSITION_BIAS_MARGIN,
        }
        return frozenset(name for name, worrying in checks.items() if worrying)

    @property
    def has_agreement(self) -> bool:
        """True when at least two sources judged the same items."""
        return bool(self.judge_human or self.judge_judge or self.human_human)


def _bias(first_position_preference: float) -> float:
    return abs(first_position_preference - 0.5)


def build_judges(
    records: RunRecords, verdicts: Sequence[Verdict], system_models: Mapping[str, str]
) -> JudgeSection:
    """Diagnose every pairwise judge and, with two or more sources, tabulate their agreement."""
    diagnostics = (
        judge_diagnostics(records.judgments, records.responses, system_models) if records.judgments else []
    )
    sources = list(dict.fromkeys(verdict.source for verdict in verdicts))
    agreements = agreement_matrix(verdicts, sources) if len(sources) > 1 else []
    return JudgeSection(
        diagnostics=tuple(diagnostics),
        judge_human=tuple(a for a in agreements if is_human(a.source_x) != is_human(a.source_y)),
        judge_judge=tuple(a for a in agreements if not (is_human(a.source_x) or is_human(a.source_y))),
        human_human=tuple(a for a in agreements if is_human(a.source_x) and is_human(a.source_y)),
    )
