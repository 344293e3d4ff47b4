"""Agreement between judges (LLM or human): LIMA tie-discounted accuracy, kappa, alpha."""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from evalkit.records import Outcome, swap_outcome
from evalkit.stats.common import FloatArray, StatsInputError
from evalkit.stats.pairwise import Verdict

Level = Literal["nominal", "ordinal", "interval"]
Value = str | float


def _check_paired(x: Sequence[object], y: Sequence[object]) -> None:
    if len(x) != len(y):
        raise StatsInputError(f"agreement needs paired labels: got {len(x)} and {len(y)} items")


def tie_discounted_accuracy(x: Sequence[Outcome], y: Sequence[Outcome]) -> float:
    """Mean LIMA agreement: 1 when both labels agree, 0.5 when exactly one is a tie, else 0.

    Two different non-tie labels ("a" vs "b") score 0. Returns nan for no items.
    """
    _check_paired(x, y)
    if not x:
        return math.nan
    scores = [
        1.0 if a == b else 0.5 if (a == "tie") != (b == "tie") else 0.0 for a, b in zip(x, y, strict=True)
    ]
    return sum(scores) / len(scores)


def raw_agreement(x: Sequence[Outcome], y: Sequence[Outcome], *, include_ties: bool = True) -> float:
    """Share of items with identical labels.

    Args:
        x: One rater's labels.
        y: The other rater's labels, same items in the same order.
        include_ties: When False, only items where neither rater said "tie" count.

    Returns:
        The share, or nan when no item counts.

    """
    _check_paired(x, y)
    pairs = [(a, b) for a, b in zip(x, y, strict=True) if include_ties or "tie" not in (a, b)]
    return sum(a == b for a, b in pairs) / len(pairs) if pairs else math.nan


def cohens_kappa(x: Sequence[str], y: Sequence[str]) -> float:
    """Cohen's kappa of two raters: (p_observed - p_chance) / (1 - p_chance).

    Returns nan for no items, or when chance agreement is 1 (both raters always gave the
    same single label, so kappa is undefined).
    """
    _check_paired(x, y)
    if not x:
        return math.nan
    labels = sorted(set(x) | set(y))
    observed = sum(a == b for a, b in zip(x, y, strict=True)) / len(x)
    chance = sum((x.count(label) / len(x)) * (y.count(label) / len(y)) for label in labels)
    return (observed - chance) / (1.0 - chance) if chance < 1.0 else math.nan


def krippendorff_alpha(
    units: Sequence[Sequence[Value | None]],
    *,
    level: Level = "nominal",
    categories: Sequence[Value] | None = None,
) -> float:
    """Krippendorff's alpha for any number of coders, with missing values.

    alpha = 1 - D_observed / D_expected, from the coincidence matrix of values paired within
    units (units with fewer than two values are not pairable and are ignored).

    Args:
        units: One row per item, one entry per coder; None (or a float nan) = missing.
        level: "nominal", "ordinal" (rank-based distance) or "interval" (squared difference).
        categories: All possible values in scale order (e.g. fail, pass, excellent); needed
            for ordinal or interval labels that are not numbers. Interval distances use the
            numbers themselves, or positions in this list for non-numeric labels.

    Returns:
        Alpha, or nan when fewer than two pairable values exist or all values are equal.

    Raises:
        StatsInputError: A value missing from ``categories``, or non-numeric ordinal or
            interval values without ``categories``.

    """
    values = _ordered_values(units, level, categories)
    counts = _value_counts(units, values)
    pairable = counts.sum(axis=1) >= 2
    counts = counts[pairable]
    if counts.sum() < 2:
        return math.nan
    weights = counts / (counts.sum(axis=1, keepdims=True) - 1.0)
    coincidence = weights.T @ counts - np.diag(weights.sum(axis=0))
    totals = coincidence.sum(axis=1)
    n = totals.sum()
    delta = _distance(level, values, totals)
    observed = (coincidence * delta).sum() / n
    expected = (np.outer(totals, totals) * delta).sum() / (n * (n - 1.0))
    return float(1.0 - observed / expected) if expected > 0 else math.nan


def _present(value: Value | None) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _as_number(value: Value) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _ordered_values(
    units: Sequence[Sequence[Value | None]], level: Level, categories: Sequence[Value] | None
) -> list[Value]:
    """Distinct values; for ordinal/interval data in scale order."""
    seen = list(dict.fromkeys(v for unit in units for v in unit if v is not None and _present(v)))
    if level == "nominal":
        return seen
    if categories is not None:
        unknown = [v for v in seen if v not in categories]
        if unknown:
            raise StatsInputError(f"values {unknown!r} are not in categories {list(categories)!r}")
        return list(categories)
    numbers = [_as_number(v) for v in seen]
    if any(number is None for number in numbers):
        raise StatsInputError(
            f"{level} alpha needs numeric values or an explicit order: pass categories=[...] for {seen!r}"
        )
    return [v for _, v in sorted(zip(numbers, seen, strict=True), key=lambda pair: pair[0] or 0.0)]


def _interval_points(values: Sequence[Value]) -> FloatArray:
    """Numeric values, or positions in the category list when labels are not numbers."""
    numbers = [_as_number(v) for v in values]
    if any(number is None for number in numbers):
        return np.arange(len(values), dtype=np.float64)
    return np.array(numbers, dtype=np.float64)


def _value_counts(units: Sequence[Sequence[Value | None]], values: Sequence[Value]) -> FloatArray:
    """(units, values) matrix: how many coders gave each value to each unit."""
    column: dict[Hashable, int] = {value: i for i, value in enumerate(values)}
    counts = np.zeros((len(units), len(values)))
    for row, unit in enumerate(units):
        for value in unit:
            if value is not None and _present(value):
                counts[row, column[value]] += 1.0
    return counts


def _distance(level: Level, values: Sequence[Value], totals: FloatArray) -> FloatArray:
    """Squared distance between every two values (delta squared in Krippendorff's notation)."""
    if level == "nominal":
        return 1.0 - np.eye(len(values))
    if level == "interval":
        points = _interval_points(values)
        squared: FloatArray = np.subtract.outer(points, points) ** 2
        return squared
    cumulative = np.cumsum(totals)
    rank = np.arange(len(values))
    low, high = np.minimum.outer(rank, rank), np.maximum.outer(rank, rank)
    between: FloatArray = cumulative[high] - cumulative[low] + (totals[low] - totals[high]) / 2.0
    return between**2


@dataclass(frozen=True, slots=True)
class Agreement:
    """Agreement of two judge sources over the items both resolved.

    ``krippendorff_alpha`` treats the outcomes as nominal labels.
    """

    source_x: str
    source_y: str
    n: int
    tie_discounted_accuracy: float
    raw_agreement: float
    raw_agreement_no_ties: float
    cohens_kappa: float
    krippendorff_alpha: float


def _matched(
    verdicts: Sequence[Verdict], source_x: str, source_y: str
) -> tuple[list[Outcome], list[Outcome]]:
    """Outcomes of both sources on shared items, in x's terms (a pair judged as (B, A) is swapped)."""
    by_y: dict[tuple[str, str, str, int], Outcome] = {}
    for v in verdicts:
        if v.source == source_y and v.outcome is not None:
            by_y[(v.prompt_id, v.model_a, v.model_b, v.sample)] = v.outcome
    x_labels: list[Outcome] = []
    y_labels: list[Outcome] = []
    for v in verdicts:
        if v.source != source_x or v.outcome is None:
            continue
        same = by_y.get((v.prompt_id, v.model_a, v.model_b, v.sample))
        other = (
            same
            if same is not None
            else swap_outcome(by_y.get((v.prompt_id, v.model_b, v.model_a, v.sample)))
        )
        if other is not None:
            x_labels.append(v.outcome)
            y_labels.append(other)
    return x_labels, y_labels


def agreement_between(verdicts: Sequence[Verdict], source_x: str, source_y: str) -> Agreement:
    """All agreement measures between two sources, on the items both resolved.

    Items are matched on (prompt_id, model_a, model_b, sample); a pair one source judged
    as (model_b, model_a) is matched with its outcome swapped. Measures are nan for n = 0.
    """
    x, y = _matched(verdicts, source_x, source_y)
    return Agreement(
        source_x=source_x,
        source_y=source_y,
        n=len(x),
        tie_discounted_accuracy=tie_discounted_accuracy(x, y),
        raw_agreement=raw_agreement(x, y),
        raw_agreement_no_ties=raw_agreement(x, y, include_ties=False),
        cohens_kappa=cohens_kappa(x, y),
        krippendorff_alpha=krippendorff_alpha(list(zip(x, y, strict=True))) if x else math.nan,
    )


def agreement_matrix(verdicts: Sequence[Verdict], sources: Sequence[str] | None = None) -> list[Agreement]:
    """Agreement of every two sources (each source kept separate; pool annotators beforehand).

    Args:
        verdicts: Reconciled verdicts of all sources.
        sources: Sources to compare, in this order; by default all, in first-appearance order.

    Returns:
        One Agreement per unordered pair (i < j in source order), including pairs with n = 0.

    """
    names = list(sources) if sources is not None else list(dict.fromkeys(v.source for v in verdicts))
    return [agreement_between(verdicts, x, y) for x, y in itertools.combinations(names, 2)]
