"""Judge diagnostics and judge–judge agreement: how far each judge can be trusted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from evalkit.report.agreement_view import AgreementTable
from evalkit.report.humans_view import PairwiseAgreement
from evalkit.runner.meta import RunRecords
from evalkit.stats import JudgeDiagnostics, judge_diagnostics

HIGH_FLIP_RATE = 0.2
HIGH_UNPARSED_RATE = 0.05
POSITION_BIAS_MARGIN = 0.15
"""First-position preference further than this from 50% is highlighted."""


@dataclass(frozen=True, slots=True)
class JudgeSection:
    """Diagnostics per pairwise judge source (humans have none) and the judges' agreement with each other."""

    diagnostics: tuple[JudgeDiagnostics, ...]
    judge_judge: AgreementTable | None

    @staticmethod
    def flagged(diagnostics: JudgeDiagnostics) -> frozenset[str]:
        """Names of the diagnostics that look worrying, for highlighting in the table."""
        checks = {
            "position_flip_rate": diagnostics.position_flip_rate > HIGH_FLIP_RATE,
            "unparsed_rate": diagnostics.unparsed_rate > HIGH_UNPARSED_RATE,
            "first_position_preference": _bias(diagnostics.first_position_preference) > POSITION_BIAS_MARGIN,
        }
        return frozenset(name for name, worrying in checks.items() if worrying)


def _bias(first_position_preference: float) -> float:
    return abs(first_position_preference - 0.5)


def build_judges(
    records: RunRecords, agreement: PairwiseAgreement, system_models: Mapping[str, str]
) -> JudgeSection:
    """Diagnose every pairwise judge and tabulate how judges agree with each other."""
    diagnostics = (
        judge_diagnostics(records.judgments, records.responses, system_models) if records.judgments else []
    )
    return JudgeSection(
        diagnostics=tuple(diagnostics),
        judge_judge=agreement.table("judge-judge", "Judge–judge agreement"),
    )
