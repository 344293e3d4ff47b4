"""Distributions of absolute grades per system, scale, judge and group, with intervals.

Shares and mean scores get Wilson intervals at the cluster bootstrap's effective sample size
(evalkit.stats.intervals); a mean is mapped to [0, 1] by the lowest and highest score seen on
its scale, so a mean of identical scores still gets an interval of positive width.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from evalkit.records import Grade, Prompt
from evalkit.stats.common import (
    FloatArray,
    GroupBy,
    IntArray,
    bootstrap,
    check_confidence,
    cluster_index,
    cluster_sums,
    group_label,
    identity_draws,
    ratio,
)
from evalkit.stats.intervals import scaled_interval

KNOWN_LABEL_ORDERS: tuple[tuple[str, ...], ...] = (("fail", "pass", "excellent"),)
"""Label orders used when the caller gives none and the observed labels fit one of them."""


@dataclass(frozen=True, slots=True)
class GradeDistribution:
    """Label counts and shares of one system's grades on one scale from one source.

    ``n`` counts parsed grades, ``unparsed`` the others (unparsed or errored: counted, never
    scored). Shares are over parsed grades that carry a label; ``mean_score`` averages the
    numeric scores present (None when no grade has one). ``aspect_means`` / ``aspect_ci``
    (added to the core fields) do the same for each aspect of multi-aspect scales.
    Intervals resample whole prompts (see the module docstring).
    """

    system: str
    scale: str
    source: str
    group: str
    n: int
    unparsed: int
    labels: tuple[str, ...]
    counts: dict[str, int]
    shares: dict[str, float]
    share_ci: dict[str, tuple[float, float]]
    mean_score: float | None
    mean_ci: tuple[float, float] | None
    aspect_means: dict[str, float] = field(default_factory=dict)
    aspect_ci: dict[str, tuple[float, float]] = field(default_factory=dict)


def grade_distributions(
    grades: Sequence[Grade],
    prompts: Mapping[str, Prompt],
    *,
    by: GroupBy = "all",
    label_order: Mapping[str, Sequence[str]] | None = None,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[GradeDistribution]:
    """Distribution of grades per (system, scale, source, group), with cluster-bootstrap CIs.

    Per-turn grades (``turn`` set) are reported per turn, under the scale name
    f"{scale}/turn{turn + 1}".

    Args:
        grades: Grade records.
        prompts: Prompt id -> Prompt; needed when grouping by split or category.
        by: "all", "split" or "category".
        label_order: Scale name -> labels in scale order. Without it the order is
            "fail" < "pass" < "excellent" when the labels fit, else by the labels' mean
            score, numeric value, or name. Listed labels never seen get count 0; labels seen
            but not listed are appended.
        n_boot: Bootstrap replicates (whole prompts resampled); 0 gives nan intervals.
        confidence: Interval coverage.
        seed: Seed of each distribution's resampling.

    Returns:
        One GradeDistribution per (system, scale, source, group), in first-appearance order
        of (system, scale, source) with groups sorted.

    """
    check_confidence(confidence)
    cells: dict[tuple[str, str, str], dict[str, list[Grade]]] = {}
    for grade in grades:
        key = (grade.system, _scale_name(grade), grade.source)
        cells.setdefault(key, {}).setdefault(group_label(grade.prompt_id, prompts, by), []).append(grade)
    labels = _label_orders(grades, label_order or {})
    ranges = _score_ranges(grades)
    settings = _Settings(n_boot, confidence, seed)
    return [
        _distribution((*key, group), groups[group], labels[key[1]], ranges.get(key[1], {}), settings)
        for key, groups in cells.items()
        for group in sorted(groups)
    ]


@dataclass(frozen=True, slots=True)
class _Settings:
    n_boot: int
    confidence: float
    seed: int


def _score_ranges(grades: Sequence[Grade]) -> dict[str, dict[str, tuple[float, float]]]:
    """Scale name -> score name ("" overall, else the aspect) -> (lowest, highest) value seen.

    The range maps a mean score onto [0, 1] for its interval (evalkit.stats.intervals).
    """
    seen: dict[str, dict[str, list[float]]] = {}
    for grade in grades:
        if not _usable(grade):
            continue
        values = seen.setdefault(_scale_name(grade), {})
        if grade.score is not None:
            values.setdefault("", []).append(grade.score)
        for aspect, value in (grade.aspects or {}).items():
            values.setdefault(aspect, []).append(value)
    return {
        scale: {name: (min(values), max(values)) for name, values in by_name.items()}
        for scale, by_name in seen.items()
    }


def _scale_name(grade: Grade) -> str:
    return grade.scale if grade.turn is None else f"{grade.scale}/turn{grade.turn + 1}"


def _usable(grade: Grade) -> bool:
    return grade.parsed and grade.error is None


def _label_orders(grades: Sequence[Grade], orders: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Label order of each scale name, shared by all systems and groups so tables line up."""
    by_scale: dict[str, list[Grade]] = {}
    for grade in grades:
        by_scale.setdefault(_scale_name(grade), []).append(grade)
    return {scale: _labels_for(scale, scale_grades, orders) for scale, scale_grades in by_scale.items()}


def _labels_for(scale: str, grades: Sequence[Grade], orders: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    seen = [g for g in grades if _usable(g) and g.label is not None]
    labels = {g.label for g in seen if g.label is not None}
    given = orders.get(scale) or orders.get(scale.split("/turn")[0])
    if given is not None:
        return (*given, *sorted(labels - set(given)))
    for known in KNOWN_LABEL_ORDERS:
        if labels and labels <= set(known):
            return known
    return tuple(sorted(labels, key=lambda label: _label_sort_key(label, seen)))


def _label_sort_key(label: str, seen: Sequence[Grade]) -> tuple[float, str]:
    scores = [g.score for g in seen if g.label == label and g.score is not None]
    if scores:
        return (sum(scores) / len(scores), label)
    try:
        return (float(label), label)
    except ValueError:
        return (math.inf, label)


def _distribution(
    key: tuple[str, str, str, str],
    cell: Sequence[Grade],
    labels: tuple[str, ...],
    ranges: Mapping[str, tuple[float, float]],
    settings: _Settings,
) -> GradeDistribution:
    usable = [g for g in cell if _usable(g)]
    labelled = [g for g in usable if g.label is not None]
    counts = Counter(g.label for g in labelled)
    table = _share_table(labelled, labels)
    nan_pair = (math.nan, math.nan)
    points = table.point() if labelled else [math.nan] * len(labels)
    intervals = (
        table.intervals(settings, [(0.0, 1.0)] * len(labels)) if labelled else [nan_pair] * len(labels)
    )
    shares = dict(zip(labels, points, strict=True))
    share_ci = dict(zip(labels, intervals, strict=True))
    means = _mean_tables(usable)
    mean_values = {name: t.point()[0] for name, t in means.items()}
    mean_ci = {name: t.intervals(settings, [ranges.get(name, nan_pair)])[0] for name, t in means.items()}
    overall = mean_values.pop("", None)
    overall_ci = mean_ci.pop("", None)
    return GradeDistribution(
        *key,
        n=len(usable),
        unparsed=len(cell) - len(usable),
        labels=labels,
        counts={label: counts[label] for label in labels},
        shares=shares,
        share_ci=share_ci,
        mean_score=overall,
        mean_ci=overall_ci,
        aspect_means=mean_values,
        aspect_ci=mean_ci,
    )


@dataclass(frozen=True, slots=True)
class _RatioTable:
    """Per-prompt sums of k numerators over a shared per-prompt denominator."""

    numerators: FloatArray
    denominators: FloatArray

    def replicate(self, draws: IntArray) -> FloatArray:
        numerators = self.numerators[draws].sum(axis=1)
        return ratio(numerators, self.denominators[draws].sum(axis=1)[:, None])

    def point(self) -> list[float]:
        return [float(v) for v in self.replicate(identity_draws(self.denominators.size))[0]]

    def intervals(
        self, settings: _Settings, bounds: Sequence[tuple[float, float]]
    ) -> list[tuple[float, float]]:
        """Per column: Wilson at the bootstrap's effective size, on the column's (low, high) range."""
        samples = bootstrap(self.denominators.size, settings.n_boot, settings.seed, self.replicate)
        if samples.size == 0:
            return [(math.nan, math.nan)] * self.numerators.shape[1]
        clusters = self.denominators.size
        return [
            scaled_interval(point, samples[:, col], clusters, bounds[col], settings.confidence)
            for col, point in enumerate(self.point())
        ]


def _share_table(labelled: Sequence[Grade], labels: tuple[str, ...]) -> _RatioTable:
    index, n_prompts = cluster_index([g.prompt_id for g in labelled])
    column = {label: i for i, label in enumerate(labels)}
    one_hot = np.zeros((len(labelled), len(labels)))
    one_hot[np.arange(len(labelled)), [column[g.label] for g in labelled if g.label is not None]] = 1.0
    return _RatioTable(
        cluster_sums(index, n_prompts, one_hot), cluster_sums(index, n_prompts, one_hot.sum(1))
    )


def _mean_tables(usable: Sequence[Grade]) -> dict[str, _RatioTable]:
    """Mean-score tables: "" for the overall score, then one per aspect name."""
    series: dict[str, list[tuple[str, float]]] = {}
    for grade in usable:
        if grade.score is not None:
            series.setdefault("", []).append((grade.prompt_id, grade.score))
        for aspect, value in (grade.aspects or {}).items():
            series.setdefault(aspect, []).append((grade.prompt_id, value))
    tables = {}
    for name, pairs in series.items():
        index, n_prompts = cluster_index([prompt_id for prompt_id, _ in pairs])
        values = np.array([[value] for _, value in pairs])
        tables[name] = _RatioTable(
            cluster_sums(index, n_prompts, values), cluster_sums(index, n_prompts, np.ones(len(pairs)))
        )
    return tables
