"""Agreement between raters (judges and human annotators) per prompt group, with bootstrap intervals.

Pairwise verdicts get LIMA's tie-discounted accuracy, MT-Bench's agreement with and without
ties, Cohen's kappa and Krippendorff's alpha; grades get agreement, kappa and alpha (also ordinal
when the scale has an order, such as fail < pass < excellent). Every measure comes with a
percentile interval from a seeded bootstrap that resamples whole prompts, and the number of items
behind it. Confusion matrices give the counts themselves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from evalkit.records import Grade, Prompt
from evalkit.stats import agreement_measures as am
from evalkit.stats.common import (
    FloatArray,
    GroupBy,
    IntArray,
    bootstrap,
    check_confidence,
    cluster_index,
    draw_counts,
    identity_draws,
    percentile_columns,
    percentile_interval,
)
from evalkit.stats.intervals import rate_interval
from evalkit.stats.pairwise import Verdict
from evalkit.stats.rating_pairs import (
    PAIRWISE_LABELS,
    RatingPairs,
    by_group,
    grade_labels,
    rating_pairs,
    scale_order,
    verdict_labels,
)

Kind = Literal["pairwise", "grade"]
Measure = Callable[[FloatArray], FloatArray]


@dataclass(frozen=True, slots=True)
class AgreementStat:
    """One agreement measure between two raters on one prompt group, with its interval.

    ``n`` counts the items behind the measure (for "agreement_without_ties", the items where
    neither rater said tie; for the alpha of ``humans`` with ``humans``, the items at least two
    annotators labeled); ``n_prompts`` the prompts they come from (the resampled unit).
    """

    kind: str
    scale: str
    relation: str
    source_x: str
    source_y: str
    group: str
    measure: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    n_prompts: int


@dataclass(frozen=True, slots=True)
class ConfusionCell:
    """How many items rater x labeled ``label_x`` while rater y labeled ``label_y``."""

    kind: str
    scale: str
    relation: str
    source_x: str
    source_y: str
    group: str
    label_x: str
    label_y: str
    count: int


@dataclass(frozen=True, slots=True)
class _Cell:
    kind: Kind
    scale: str
    group: str
    labels: tuple[str, ...]
    ordinal: bool
    pairs: RatingPairs


def pairwise_agreement(
    verdicts: Sequence[Verdict],
    prompts: Mapping[str, Prompt],
    *,
    by: GroupBy = "all",
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[AgreementStat]:
    """Agreement of every two pairwise raters (see ``rating_pairs``) per group, with intervals.

    Args:
        verdicts: Reconciled verdicts with judge samples aggregated (``run_verdicts``).
        prompts: Prompt id -> Prompt; needed when grouping by split or category.
        by: "all", "split" or "category".
        n_boot: Bootstrap replicates (whole prompts resampled); 0 gives nan intervals.
        confidence: Interval coverage.
        seed: Seed of every cell's resampling.

    Returns:
        One row per (raters, group, measure): tidy, ready for a DataFrame.

    """
    check_confidence(confidence)
    cells = _pairwise_cells(verdicts, prompts, by)
    return [row for cell in cells for row in _cell_stats(cell, n_boot, confidence, seed)]


def grade_agreement(
    grades: Sequence[Grade],
    prompts: Mapping[str, Prompt],
    *,
    by: GroupBy = "all",
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[AgreementStat]:
    """Agreement on grade labels per scale and group, with intervals (arguments as ``pairwise_agreement``)."""
    check_confidence(confidence)
    cells = _grade_cells(grades, prompts, by)
    return [row for cell in cells for row in _cell_stats(cell, n_boot, confidence, seed)]


def pairwise_confusion(
    verdicts: Sequence[Verdict], prompts: Mapping[str, Prompt], *, by: GroupBy = "all"
) -> list[ConfusionCell]:
    """Confusion matrices (every label combination, zeros included) of the pairwise rater comparisons."""
    return [c for cell in _pairwise_cells(verdicts, prompts, by) for c in _confusion(cell)]


def grade_confusion(
    grades: Sequence[Grade], prompts: Mapping[str, Prompt], *, by: GroupBy = "all"
) -> list[ConfusionCell]:
    """Confusion matrices of the grade rater comparisons, per scale."""
    return [c for cell in _grade_cells(grades, prompts, by) for c in _confusion(cell)]


def _pairwise_cells(verdicts: Sequence[Verdict], prompts: Mapping[str, Prompt], by: GroupBy) -> list[_Cell]:
    labels = verdict_labels(verdicts)
    return [
        _Cell("pairwise", "", group, PAIRWISE_LABELS, False, part)
        for pairs in rating_pairs(labels)
        for group, part in by_group(pairs, prompts, by).items()
    ]


def _grade_cells(grades: Sequence[Grade], prompts: Mapping[str, Prompt], by: GroupBy) -> list[_Cell]:
    cells = []
    for scale, labels in grade_labels(grades).items():
        order, ordinal = scale_order(labels)
        cells += [
            _Cell("grade", scale, group, order, ordinal, part)
            for pairs in rating_pairs(labels)
            for group, part in by_group(pairs, prompts, by).items()
        ]
    return cells


_SHARES = frozenset({"tie_discounted_accuracy", "agreement", "agreement_without_ties"})
"""Measures that are shares in [0, 1] (kappa and alpha are not: they keep the percentile interval)."""


def _measures(cell: _Cell) -> dict[str, Measure]:
    labels = cell.labels
    measures: dict[str, Measure] = {}
    if cell.kind == "pairwise":
        measures["tie_discounted_accuracy"] = lambda c: am.tie_discounted_accuracy(c, labels)
    measures["agreement"] = am.agreement
    if cell.kind == "pairwise":
        measures["agreement_without_ties"] = lambda c: am.agreement_without(c, labels)
    measures["cohens_kappa"] = am.cohens_kappa
    measures["krippendorff_alpha"] = lambda c: am.krippendorff_alpha(am.pair_coincidence(c))
    if cell.ordinal:
        measures["krippendorff_alpha_ordinal"] = lambda c: am.krippendorff_alpha(
            am.pair_coincidence(c), ordinal=True
        )
    return measures


def _per_prompt(cell: _Cell) -> tuple[FloatArray, int]:
    """Each prompt's confusion matrix, flattened: (prompts, labels * labels)."""
    k = len(cell.labels)
    code = {label: i for i, label in enumerate(cell.labels)}
    index, n_prompts = cluster_index(cell.pairs.prompt_ids)
    flat = [code[x] * k + code[y] for x, y in zip(cell.pairs.x, cell.pairs.y, strict=True)]
    table = np.zeros((n_prompts, k * k))
    np.add.at(table, (index, np.asarray(flat, dtype=np.intp)), 1.0)
    return table, n_prompts


def _cell_stats(cell: _Cell, n_boot: int, confidence: float, seed: int) -> list[AgreementStat]:
    table, n_prompts = _per_prompt(cell)
    k = len(cell.labels)
    measures = _measures(cell)

    def statistic(draws: IntArray) -> FloatArray:
        confusion = (draw_counts(draws, n_prompts) @ table).reshape(-1, k, k)
        return np.stack([measure(confusion) for measure in measures.values()], axis=1)

    point = statistic(identity_draws(n_prompts))[0]
    samples = bootstrap(n_prompts, n_boot, seed, statistic)
    intervals = [
        _measure_interval(name, float(point[i]), samples, i, n_prompts, confidence)
        for i, name in enumerate(measures)
    ]
    total = table.sum(axis=0).reshape(1, k, k)
    counts = {name: len(cell.pairs.x) for name in measures}
    if "agreement_without_ties" in counts:
        counts["agreement_without_ties"] = int(am.count_without(total, cell.labels)[0])
    rows = {
        name: (float(value), interval, counts[name], n_prompts)
        for name, value, interval in zip(measures, point, intervals, strict=True)
    }
    if cell.pairs.units:  # several annotators: alpha over all of them, missing labels allowed
        for name, ordinal in (("krippendorff_alpha", False), ("krippendorff_alpha_ordinal", True)):
            if name in rows:
                rows[name] = _units_alpha(cell, ordinal, n_boot, confidence, seed)
    return [_stat(cell, name, *row) for name, row in rows.items()]


def _units_alpha(
    cell: _Cell, ordinal: bool, n_boot: int, confidence: float, seed: int
) -> tuple[float, tuple[float, float], int, int]:
    code = {label: i for i, label in enumerate(cell.labels)}
    k = len(cell.labels)
    index, n_prompts = cluster_index([prompt_id for prompt_id, _ in cell.pairs.units])
    table = np.zeros((n_prompts, k * k))
    for cluster, (_, values) in zip(index, cell.pairs.units, strict=True):
        counts = np.bincount([code[v] for v in values], minlength=k).astype(np.float64)
        table[cluster] += am.unit_coincidence(counts).ravel()

    def statistic(draws: IntArray) -> FloatArray:
        coincidence = (draw_counts(draws, n_prompts) @ table).reshape(-1, k, k)
        return am.krippendorff_alpha(coincidence, ordinal=ordinal)[:, None]

    point = float(statistic(identity_draws(n_prompts))[0, 0])
    interval = _intervals(bootstrap(n_prompts, n_boot, seed, statistic), 1, confidence)[0]
    return point, interval, len(cell.pairs.units), n_prompts


def _intervals(samples: FloatArray, width: int, confidence: float) -> list[tuple[float, float]]:
    if samples.size == 0:
        return [(math.nan, math.nan)] * width
    return percentile_columns(samples, confidence)


def _measure_interval(
    name: str, point: float, samples: FloatArray, column: int, n_prompts: int, confidence: float
) -> tuple[float, float]:
    """Shares of agreeing items get the small-n-safe rate interval of every rate in the report."""
    if samples.size == 0:
        return (math.nan, math.nan)
    if name in _SHARES:
        return rate_interval(point, samples[:, column], n_prompts, confidence)
    return percentile_interval(samples[:, column], confidence)


def _raters(cell: _Cell) -> tuple[str, str, str, str, str, str]:
    """The fields that name a cell in its rows: kind, scale, relation, both sources, group."""
    pairs = cell.pairs
    return (cell.kind, cell.scale, pairs.relation, pairs.source_x, pairs.source_y, cell.group)


def _stat(
    cell: _Cell, measure: str, value: float, interval: tuple[float, float], n: int, n_prompts: int
) -> AgreementStat:
    return AgreementStat(*_raters(cell), measure, value, interval[0], interval[1], n, n_prompts)


def _confusion(cell: _Cell) -> list[ConfusionCell]:
    table, _ = _per_prompt(cell)
    totals = table.sum(axis=0)
    k = len(cell.labels)
    return [
        ConfusionCell(*_raters(cell), label_x, label_y, int(totals[i * k + j]))
        for i, label_x in enumerate(cell.labels)
        for j, label_y in enumerate(cell.labels)
    ]
