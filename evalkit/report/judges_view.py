"""Judge diagnostics and judge–judge agreement: how far each judge can be trusted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from evalkit.records import Judgment
from evalkit.report.agreement_view import AgreementTable
from evalkit.report.humans_view import PairwiseAgreement
from evalkit.runner.meta import RunRecords
from evalkit.stats import JudgeDiagnostics, is_human, judge_diagnostics
from evalkit.stats.diagnostics import SELF_PREFERENCE_PREFIX, self_preference_families, system_models_of
from evalkit.stats.position import PositionPreference, human_position_preference

HIGH_FLIP_RATE = 0.2
HIGH_UNPARSED_RATE = 0.05
POSITION_BIAS_MARGIN = 0.15
"""First-position preference further than this from 50% is highlighted."""


@dataclass(frozen=True, slots=True)
class SelfPreference:
    """Judges and judged systems that share a model family: one warning line in the report."""

    family: str
    judges: tuple[str, ...]
    judge_models: tuple[str, ...]
    systems: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class JudgeSection:
    """Diagnostics per pairwise judge source (humans have none) and the judges' agreement with each other."""

    diagnostics: tuple[JudgeDiagnostics, ...]
    judge_judge: AgreementTable | None
    self_preference: tuple[SelfPreference, ...] = ()
    human_positions: tuple[PositionPreference, ...] = ()

    @property
    def has_warnings(self) -> bool:
        """True when the warnings list has a line to show."""
        return bool(self.self_preference) or any(self.other_warnings(d) for d in self.diagnostics)

    @staticmethod
    def other_warnings(diagnostics: JudgeDiagnostics) -> tuple[str, ...]:
        """A judge's warnings, less self-preference (listed once per model family instead)."""
        return tuple(w for w in diagnostics.warnings if not w.startswith(SELF_PREFERENCE_PREFIX))

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
        self_preference=self_preference_by_family(records, system_models),
        human_positions=tuple(human_position_preference(records.judgments)),
    )


def self_preference_by_family(
    records: RunRecords, system_models: Mapping[str, str]
) -> tuple[SelfPreference, ...]:
    """Every judge source's shared model families, merged into one entry per family."""
    models = system_models_of(records.responses, system_models)
    by_source: dict[str, list[Judgment]] = {}
    for judgment in records.judgments:
        if not is_human(judgment.source):
            by_source.setdefault(judgment.source, []).append(judgment)
    merged: dict[str, tuple[dict[str, None], dict[str, None], dict[str, None]]] = {}
    for source, judgments in by_source.items():
        for family, (specs, systems) in self_preference_families(judgments, models).items():
            judges, judge_models, judged = merged.setdefault(family, ({}, {}, {}))
            judges[source] = None
            judge_models.update(dict.fromkeys(specs))
            judged.update(dict.fromkeys(systems))
    return tuple(
        SelfPreference(family, tuple(judges), tuple(specs), tuple(systems))
        for family, (judges, specs, systems) in merged.items()
    )
