"""Batched logistic regression for many bootstrap replicates at once.

Each replicate r fits coefficients beta_r maximising

    sum_i successes[r, i] * eta_ri - trials[r, i] * log(1 + exp(eta_ri)) - 0.5 * sum_j ridge_j * beta_rj**2

with eta = design @ beta_r. Fractional successes (ties as half a win) are allowed. The
objective is concave, so damped Newton steps converge in a handful of iterations; all
replicates step together as stacked small linear systems, and a warm start (the point
estimate) makes bootstrap refits cheap. The ridge term is a weak Gaussian prior that keeps
coefficients finite when the data separate perfectly (a system that wins every comparison).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
from scipy.special import expit

from evalkit.stats.common import FloatArray

_MAX_ITER = 100
_MAX_HALVINGS = 30
_TOLERANCE = 1e-10


def log_likelihood(
    design: FloatArray, successes: FloatArray, trials: FloatArray, beta: FloatArray, ridge: FloatArray
) -> FloatArray:
    """Penalised log-likelihood of each replicate's coefficients (shape (replicates,))."""
    eta = beta @ design.T
    data_term = (successes * eta - trials * np.logaddexp(0.0, eta)).sum(axis=1)
    penalised: FloatArray = data_term - 0.5 * (ridge * beta**2).sum(axis=1)
    return penalised


def fit_logistic(
    design: FloatArray,
    successes: FloatArray,
    trials: FloatArray,
    ridge: FloatArray,
    start: FloatArray | None = None,
) -> FloatArray:
    """Fit every replicate by damped Newton ascent.

    Args:
        design: (items, params) design matrix shared by all replicates.
        successes: (replicates, items) weighted successes.
        trials: (replicates, items) weighted trial counts (>= successes).
        ridge: (params,) strictly positive prior precisions.
        start: (replicates, params) or (params,) starting coefficients; zeros by default.

    Returns:
        (replicates, params) fitted coefficients.

    """
    n_rep, n_par = successes.shape[0], design.shape[1]
    beta = np.zeros((n_rep, n_par)) if start is None else np.broadcast_to(start, (n_rep, n_par)).copy()
    objective = partial(log_likelihood, design, ridge=ridge)
    return newton_ascent(successes, trials, beta, objective, partial(_newton_step, design, ridge=ridge))


Objective = Callable[[FloatArray, FloatArray, FloatArray], FloatArray]
"""(successes, trials, beta) of some replicates -> their objective, or their Newton step."""


def newton_ascent(
    successes: FloatArray, trials: FloatArray, beta: FloatArray, objective: Objective, newton_step: Objective
) -> FloatArray:
    """Damped Newton ascent of every replicate from ``beta`` (updated in place and returned).

    Replicates stop stepping once their step is below tolerance, so a warm start converges
    most of them in one or two steps.

    Args:
        successes: (replicates, items) successes.
        trials: (replicates, items) trials.
        beta: (replicates, params) starting coefficients.
        objective: A concave objective per replicate.
        newton_step: Its Newton step per replicate.

    Returns:
        (replicates, params) fitted coefficients.

    """
    current = objective(successes, trials, beta)
    active = np.ones(beta.shape[0], dtype=bool)
    for _ in range(_MAX_ITER):
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        s, t, b = successes[rows], trials[rows], beta[rows]
        step = newton_step(s, t, b)
        beta[rows], current[rows] = _damped(partial(objective, s, t), b, step, current[rows])
        active[rows] = np.abs(step).max(axis=1) > _TOLERANCE * (1.0 + np.abs(beta[rows]).max(axis=1))
    return beta


def _newton_step(
    design: FloatArray, successes: FloatArray, trials: FloatArray, beta: FloatArray, ridge: FloatArray
) -> FloatArray:
    prob = expit(beta @ design.T)
    gradient = (successes - trials * prob) @ design - ridge * beta
    curvature = trials * prob * (1.0 - prob)
    hessian = np.einsum("ri,ij,ik->rjk", curvature, design, design) + np.diag(ridge)
    solved: FloatArray = np.linalg.solve(hessian, gradient[..., None])[..., 0]
    return solved


def _damped(
    objective: Callable[[FloatArray], FloatArray], beta: FloatArray, step: FloatArray, current: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Halve each replicate's step until the objective does not decrease."""
    scale = np.ones(beta.shape[0])
    for _ in range(_MAX_HALVINGS):
        trial = beta + scale[:, None] * step
        value = objective(trial)
        worse = value < current - 1e-12 * (1.0 + np.abs(current))
        if not worse.any():
            return trial, value
        scale = np.where(worse, scale / 2.0, scale)
    keep = value >= current
    return np.where(keep[:, None], trial, beta), np.where(keep, value, current)
