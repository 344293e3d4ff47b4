"""Prediction-powered inference (PPI, PPI++) for a mean: many cheap predictions corrected by a few labels.

A judge scores all N items; people label a uniformly random subset of n of them. With a weight
``lam`` on the judge terms the estimate is

    theta = lam * mean(judge over all N items) + mean(human - lam * judge over the n labeled items)

which is unbiased for the humans' mean whatever the judge's bias. Its standard error is

    se^2 = lam^2 * var(judge over N) / N + var(human - lam * judge over n) / n

(population variances), and the interval is theta +- z * se (central limit theorem). ``lam = 1``
is PPI (Angelopoulos et al., 2023); ``lam = 0`` ignores the judge (the classical mean of the
labels); PPI++ (Angelopoulos, Duchi and Zrnic, 2023) picks the ``lam`` that minimizes the variance,

    lam = cov(human, judge over n) / ((1 + n / N) * var(judge over the n and N scores together)),

clipped to [0, 1]. The formulas (variances with ddof 0 except the pooled judge variance, which
uses ddof 1, and the clipping) follow the method's reference implementation, so the numbers
agree with it to rounding. The "all N items" include the labeled ones, as is usual when a judge
scores every item; the interval then ignores a covariance of order n / N between the two terms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.stats import norm

from evalkit.stats.common import FloatArray, StatsInputError, check_confidence

CorrectionMethod = Literal["ppi++", "ppi", "classical"]
"""How much weight the judge gets: tuned (PPI++), full (PPI), or none (the labels alone)."""


@dataclass(frozen=True, slots=True)
class PPIEstimate:
    """A prediction-powered estimate of a mean with its normal interval.

    Attributes:
        estimate: The corrected mean.
        ci_low: Lower end of the interval (nan with fewer than two labels).
        ci_high: Upper end of the interval.
        std_error: Standard error of ``estimate``.
        lam: Weight given to the judge (1 for PPI, 0 for classical, tuned for PPI++).
        n_labeled: Items with a label (n).
        n_total: Items with a prediction (N).

    """

    estimate: float
    ci_low: float
    ci_high: float
    std_error: float
    lam: float
    n_labeled: int
    n_total: int


def ppi_mean(
    labels: Sequence[float] | FloatArray,
    labeled_predictions: Sequence[float] | FloatArray,
    predictions: Sequence[float] | FloatArray,
    *,
    method: CorrectionMethod = "ppi++",
    confidence: float = 0.95,
) -> PPIEstimate:
    """Estimate the labels' mean from predictions on every item plus labels on a random subset.

    Args:
        labels: The human scores of the n labeled items.
        labeled_predictions: The judge's scores of the same n items, same order.
        predictions: The judge's scores of all N items (the labeled ones included).
        method: "ppi++" (tuned weight, the default), "ppi" (weight 1) or "classical" (weight 0).
        confidence: Interval coverage, e.g. 0.95.

    Returns:
        The estimate with its interval; the interval is nan when n < 2.

    Raises:
        StatsInputError: Empty inputs, or labels and their predictions of different lengths.

    """
    check_confidence(confidence)
    y, f_labeled, f_all = (
        np.asarray(values, dtype=np.float64) for values in (labels, labeled_predictions, predictions)
    )
    if y.shape != f_labeled.shape or y.ndim != 1 or f_all.ndim != 1:
        raise StatsInputError(
            f"PPI needs one prediction per label: got {y.shape} labels and {f_labeled.shape} predictions"
        )
    if y.size == 0 or f_all.size == 0:
        raise StatsInputError("PPI needs at least one labeled item and one predicted item")
    lam = {"ppi": 1.0, "classical": 0.0}.get(method)
    if lam is None:
        lam = tuned_lambda(y, f_labeled, f_all)
    return _estimate(y, f_labeled, f_all, lam, confidence)


def tuned_lambda(labels: FloatArray, labeled_predictions: FloatArray, predictions: FloatArray) -> float:
    """PPI++'s variance-minimizing weight on the judge, clipped to [0, 1].

    A judge that gives every item the same score carries no information: its weight is 0.
    """
    n, big_n = labels.size, predictions.size
    covariance = float(np.mean((labels - labels.mean()) * (labeled_predictions - labeled_predictions.mean())))
    pooled = np.concatenate([labeled_predictions, predictions])
    variance = float(np.var(pooled, ddof=1)) if pooled.size > 1 else 0.0
    if variance <= 0.0:
        return 0.0
    return float(np.clip(covariance / ((1.0 + n / big_n) * variance), 0.0, 1.0))


def _estimate(
    y: FloatArray, f_labeled: FloatArray, f_all: FloatArray, lam: float, confidence: float
) -> PPIEstimate:
    rectifier = y - lam * f_labeled
    estimate = float(lam * f_all.mean() + rectifier.mean())
    std_error = math.sqrt(float(np.var(lam * f_all)) / f_all.size + float(np.var(rectifier)) / y.size)
    if y.size < 2:  # one label has no spread to measure: no honest interval
        return PPIEstimate(estimate, math.nan, math.nan, math.nan, lam, int(y.size), int(f_all.size))
    z = float(norm.ppf(0.5 + confidence / 2.0))
    return PPIEstimate(
        estimate,
        estimate - z * std_error,
        estimate + z * std_error,
        std_error,
        lam,
        int(y.size),
        int(f_all.size),
    )


def mean_interval(values: Sequence[float] | FloatArray, *, confidence: float = 0.95) -> PPIEstimate:
    """Classical normal interval of a plain mean (population variance, as PPI's ``lam = 0``).

    Used for the judge-only and human-only numbers shown beside the corrected one.
    """
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return PPIEstimate(math.nan, math.nan, math.nan, math.nan, 0.0, 0, 0)
    return ppi_mean(array, array, array, method="classical", confidence=confidence)
