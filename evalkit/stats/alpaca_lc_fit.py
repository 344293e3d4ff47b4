"""Fitting AlpacaEval's length-controlled model for one candidate, and the intervals of its rate.

See ``evalkit.stats.alpaca_lc`` for the model. Rows are the candidate's verdicts (indicator
1 on the candidate's intercept) followed by any gamed-baseline rows (indicator 0, weight
``GAMED_WEIGHT`` each); the ridge is chosen by 5-fold cross-validation over prompts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import expit
from scipy.stats import norm

from evalkit.stats.common import FloatArray, IntArray, bootstrap, cluster_index, draw_counts
from evalkit.stats.difficulty import SoftRows
from evalkit.stats.logistic import fit_logistic

RIDGE_GRID = tuple(float(x) for x in np.logspace(-4, 4, 9))
"""Candidate L2 precisions (1 / C in scikit-learn's terms) for the cross-validation."""
GAMED_WEIGHT = 0.2
"""Weight of each gamed-baseline row relative to a candidate row (AlpacaEval's lambda)."""


@dataclass(frozen=True, slots=True)
class LengthFit:
    """One candidate's fitted model: coefficients, ridge, the training rows and the test design."""

    beta: FloatArray
    ridge: float
    design: FloatArray
    scores: FloatArray
    weights: FloatArray
    prompt_index: IntArray
    test: FloatArray
    """The candidate's own rows with the length term set to zero."""


def _design(rows: SoftRows, difficulty: Mapping[str, float], candidate: float) -> FloatArray:
    values = np.array([difficulty.get(p, 0.0) for p in rows.prompt_ids])
    return np.column_stack([np.full(values.size, candidate), rows.length, values])


def _cross_validated_ridge(
    design: FloatArray, scores: FloatArray, weights: FloatArray, folds: IntArray
) -> float:
    """The grid precision with the smallest held-out soft log-loss over the folds."""
    n_folds = int(folds.max()) + 1
    train = np.stack([weights * (folds != f) for f in range(n_folds)])
    losses = []
    beta = None
    for ridge in sorted(RIDGE_GRID, reverse=True):  # strongest first, each warm-starting the next
        beta = fit_logistic(design, train * scores, train, np.full(design.shape[1], ridge), beta)
        prob = np.clip(expit(beta @ design.T), 1e-12, 1 - 1e-12)
        held = weights * (folds[None, :] == np.arange(n_folds)[:, None])
        losses.append(-(held * (scores * np.log(prob) + (1 - scores) * np.log1p(-prob))).sum())
    return sorted(RIDGE_GRID, reverse=True)[int(np.argmin(losses))]


def _fold_of(prompt_ids: Sequence[str], n_folds: int = 5, seed: int = 0) -> IntArray:
    index, n_prompts = cluster_index(list(prompt_ids))
    assignment = np.random.default_rng(seed).permutation(n_prompts) % n_folds
    folds: IntArray = assignment[index]
    return folds


def fit_length_model(
    own: SoftRows, gamed: Sequence[SoftRows], difficulty: Mapping[str, float], seed: int
) -> LengthFit:
    """Fit one candidate's model (ridge chosen by cross-validation) on its rows and the gamed rows."""
    parts = [_design(own, difficulty, 1.0), *(_design(g, difficulty, 0.0) for g in gamed)]
    design = np.concatenate(parts)
    scores = np.concatenate([own.scores, *(g.scores for g in gamed)])
    weights = np.concatenate(
        [np.ones(own.scores.size), *(np.full(g.scores.size, GAMED_WEIGHT) for g in gamed)]
    )
    ids = [*own.prompt_ids, *(p for g in gamed for p in g.prompt_ids)]
    ridge = _cross_validated_ridge(design, scores, weights, _fold_of(ids, seed=seed))
    penalty = np.full(design.shape[1], ridge)
    point = fit_logistic(design, (weights * scores)[None], weights[None], penalty)[0]
    test = _design(own, difficulty, 1.0)
    test[:, 1] = 0.0
    index, _ = cluster_index(ids)
    return LengthFit(point, ridge, design, scores, weights, index, test)


def bootstrap_rates(fit: LengthFit, n_boot: int, seed: int) -> FloatArray:
    """The rate (in [0, 1]) refitted on prompts resampled with replacement, one per replicate."""
    n_prompts = int(fit.prompt_index.max()) + 1
    penalty = np.full(fit.beta.size, fit.ridge)
    n_own = fit.test.shape[0]

    def refit(draws: IntArray) -> FloatArray:
        counts = draw_counts(draws, n_prompts)[:, fit.prompt_index] * fit.weights
        beta = fit_logistic(fit.design, counts * fit.scores, counts, penalty, fit.beta)
        own_counts = counts[:, :n_own]
        rates: FloatArray = (own_counts * expit(beta @ fit.test.T)).sum(1) / own_counts.sum(1)
        return rates

    return bootstrap(n_prompts, n_boot, seed, refit)


def sandwich_interval(fit: LengthFit, confidence: float) -> tuple[float, float]:
    """Closed-form interval of the rate (in [0, 1]), clustered by prompt.

    The rate is a mean over the candidate's prompts of predictions from fitted coefficients,
    so each prompt's influence has two parts: its prediction's deviation from the mean, and
    its score contribution to the coefficients (H^-1 g) carried through the rate's gradient.
    The variance is the sum over prompts of the squared total influence (a sandwich estimate).
    """
    prob = expit(fit.design @ fit.beta)
    hessian = (fit.design * (fit.weights * prob * (1 - prob))[:, None]).T @ fit.design
    hessian += np.diag(np.full(fit.beta.size, fit.ridge))
    predicted = expit(fit.test @ fit.beta)
    rate = float(predicted.mean())
    gradient = ((predicted * (1 - predicted))[:, None] * fit.test).mean(axis=0)
    through_beta = fit.design @ np.linalg.solve(hessian, gradient)
    influence = np.zeros(int(fit.prompt_index.max()) + 1)
    np.add.at(influence, fit.prompt_index, fit.weights * (fit.scores - prob) * through_beta)
    n_own = predicted.size
    np.add.at(influence, fit.prompt_index[:n_own], (predicted - rate) / n_own)
    spread = float(np.sqrt((influence**2).sum()))
    z = float(norm.ppf(0.5 + confidence / 2))
    return max(0.0, rate - z * spread), min(1.0, rate + z * spread)
