"""Agreement measures computed from batches of confusion or coincidence matrices.

Every measure of two raters is a function of their confusion matrix (rows: x's label, columns:
y's label), and Krippendorff's alpha is a function of the coincidence matrix. Per-prompt matrices
summed with bootstrap weights give each replicate's matrix, so one matrix product turns a whole
cluster bootstrap into a (replicates, labels, labels) batch and every measure below is evaluated
on the batch at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evalkit.stats.common import FloatArray, ratio

TIE = "tie"


def agreement(confusion: FloatArray) -> FloatArray:
    """Share of items both raters labeled the same (nan for no items)."""
    return ratio(np.trace(confusion, axis1=1, axis2=2), confusion.sum(axis=(1, 2)))


def agreement_without(confusion: FloatArray, labels: Sequence[str], dropped: str = TIE) -> FloatArray:
    """Agreement on the items where neither rater gave ``dropped`` (MT-Bench's "without ties")."""
    keep = [i for i, label in enumerate(labels) if label != dropped]
    return agreement(confusion[:, keep][:, :, keep])


def count_without(confusion: FloatArray, labels: Sequence[str], dropped: str = TIE) -> FloatArray:
    """Items where neither rater gave ``dropped``."""
    keep = [i for i, label in enumerate(labels) if label != dropped]
    counted: FloatArray = confusion[:, keep][:, :, keep].sum(axis=(1, 2))
    return counted


def tie_discounted_weights(labels: Sequence[str]) -> FloatArray:
    """LIMA's credit per (x label, y label): 1 if equal, 0.5 if exactly one is a tie, else 0."""
    return np.array(
        [[1.0 if x == y else 0.5 if (x == TIE) != (y == TIE) else 0.0 for y in labels] for x in labels]
    )


def tie_discounted_accuracy(confusion: FloatArray, labels: Sequence[str]) -> FloatArray:
    """LIMA's tie-discounted accuracy of each confusion matrix in the batch."""
    credit = (confusion * tie_discounted_weights(labels)).sum(axis=(1, 2))
    return ratio(credit, confusion.sum(axis=(1, 2)))


def cohens_kappa(confusion: FloatArray) -> FloatArray:
    """Cohen's kappa: (observed - chance) / (1 - chance); nan when chance agreement is 1 or n is 0."""
    total = confusion.sum(axis=(1, 2))
    safe_total = np.where(total > 0, total, 1.0)
    rows = confusion.sum(axis=2) / safe_total[:, None]
    cols = confusion.sum(axis=1) / safe_total[:, None]
    chance = (rows * cols).sum(axis=1)
    observed = np.trace(confusion, axis1=1, axis2=2) / safe_total
    kappa = ratio(observed - chance, 1.0 - chance)
    kappa[(total == 0) | (chance >= 1.0 - 1e-12)] = np.nan
    return kappa


def pair_coincidence(confusion: FloatArray) -> FloatArray:
    """Coincidence matrix of two raters: every item is a unit with two pairable values."""
    coincidence: FloatArray = confusion + np.swapaxes(confusion, 1, 2)
    return coincidence


def unit_coincidence(value_counts: FloatArray) -> FloatArray:
    """One unit's coincidence matrix from how many raters gave each value (Krippendorff's o_ck).

    A unit with m >= 2 values contributes (v v^T - diag(v)) / (m - 1); fewer values contribute 0.
    """
    m = value_counts.sum()
    if m < 2:
        return np.zeros((value_counts.size, value_counts.size))
    contribution: FloatArray = (np.outer(value_counts, value_counts) - np.diag(value_counts)) / (m - 1.0)
    return contribution


def krippendorff_alpha(coincidence: FloatArray, *, ordinal: bool = False) -> FloatArray:
    """Krippendorff's alpha of each coincidence matrix: 1 - D_observed / D_expected.

    Nominal by default; ``ordinal`` uses the rank distance of labels given in scale order.
    Nan where fewer than two values are pairable or all values are equal.
    """
    totals = coincidence.sum(axis=2)
    n = totals.sum(axis=1)
    delta = (
        _ordinal_delta(totals)
        if ordinal
        else np.broadcast_to(1.0 - np.eye(totals.shape[1]), coincidence.shape)
    )
    observed = ratio((coincidence * delta).sum(axis=(1, 2)), n)
    expected_pairs = np.einsum("ri,rj,rij->r", totals, totals, delta)
    expected = ratio(expected_pairs, n * (n - 1.0))
    alpha = 1.0 - ratio(observed, expected)
    alpha[(n < 2) | ~(expected > 0)] = np.nan
    return alpha


def _ordinal_delta(totals: FloatArray) -> FloatArray:
    """Squared ordinal distances per replicate: (sum of n_g from c to k - (n_c + n_k) / 2) ** 2."""
    cumulative = np.cumsum(totals, axis=1)
    rank = np.arange(totals.shape[1])
    low, high = np.minimum.outer(rank, rank), np.maximum.outer(rank, rank)
    between: FloatArray = cumulative[:, high] - cumulative[:, low] + (totals[:, low] - totals[:, high]) / 2.0
    return between**2
