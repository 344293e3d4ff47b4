"""Ablations of a run: every available score of every system against the systems' attributes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from evalkit.records import Grade
from evalkit.runner.config import RunConfig
from evalkit.runner.meta import RunRecords
from evalkit.stats.ablation import (
    Ablation,
    Attribute,
    ScoreMatrix,
    ablation,
    excellent_matrix,
    likert_matrix,
    varying_attributes,
    win_rate_matrix,
)
from evalkit.stats.pairwise import Verdict

ScoreKind = Literal["likert", "excellent", "win_rate"]
SCORE_KINDS: tuple[ScoreKind, ...] = ("likert", "excellent", "win_rate")
EXCELLENT = "excellent"


def system_attributes(config: RunConfig | None) -> dict[str, dict[str, Attribute]]:
    """System name -> its attributes, from a run's config."""
    return {s.name: dict(s.attributes) for s in config.systems} if config is not None else {}


def has_ablation(config: RunConfig | None) -> bool:
    """True when some attribute takes two or more values across the run's systems."""
    attributes = system_attributes(config)
    numeric, categorical = varying_attributes(attributes, list(attributes))
    return bool(numeric or categorical)


def score_matrices(
    records: RunRecords, verdicts: Sequence[Verdict], kinds: Sequence[ScoreKind] = SCORE_KINDS
) -> list[ScoreMatrix]:
    """Every score the run supports, per judge.

    Excellent rates of scales with an "excellent" label, means of numeric scales (Likert),
    and win rates against the configured baseline.
    """
    found: list[ScoreMatrix] = []
    for scale, source in dict.fromkeys((g.scale, g.source) for g in records.grades if g.parsed):
        graded = [g for g in records.grades if (g.scale, g.source) == (scale, source)]
        if "excellent" in kinds and any(g.label == EXCELLENT for g in graded):
            found.append(excellent_matrix(graded, scale, source))
        if "likert" in kinds and _numeric(graded):
            found.append(likert_matrix(graded, scale, source))
    baseline = records.meta.baseline or (records.meta.config.baseline if records.meta.config else None)
    if "win_rate" in kinds and baseline:
        for source in dict.fromkeys(v.source for v in verdicts):
            found.append(win_rate_matrix(verdicts, baseline, source))
    return [m for m in found if m.systems]


def _numeric(grades: Sequence[Grade]) -> bool:
    return any(g.score is not None for g in grades if g.parsed)


def run_ablations(
    records: RunRecords,
    verdicts: Sequence[Verdict],
    *,
    kinds: Sequence[ScoreKind] = SCORE_KINDS,
    n_boot: int = 2000,
    seed: int = 0,
) -> list[Ablation]:
    """One ablation per available score; empty when no attribute varies across the systems."""
    if not has_ablation(records.meta.config):
        return []
    attributes = system_attributes(records.meta.config)
    return [
        ablation(m, attributes, n_boot=n_boot, seed=seed) for m in score_matrices(records, verdicts, kinds)
    ]
