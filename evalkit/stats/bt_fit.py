"""Bradley–Terry fits that scale with the number of verdicts, not prompts x pairs of systems.

Verdicts are folded into a sparse (prompt, pair of systems) table: it has at most one entry
per verdict, where a dense table would hold every prompt for every pair (150,000 prompts x
19,900 pairs of 200 systems is 24 GB per array). The point estimate needs only the per-pair
totals; a bootstrap replicate's totals are its prompt weights times the sparse table.

The fit is the logistic model of ``evalkit.stats.logistic`` with the pairs' +1/-1 design,
written for that design: the linear predictor is a difference of two strengths and the
Hessian is a weighted graph Laplacian, assembled in time linear in the number of pairs
instead of pairs x systems squared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.special import expit

from evalkit.stats.common import OUTCOME_SCORE, FloatArray, IntArray, cluster_index
from evalkit.stats.logistic import newton_ascent
from evalkit.stats.pairwise import Verdict


@dataclass(frozen=True)
class PairTable:
    """Resolved verdicts as sparse per-prompt, per-pair successes and trials.

    Attributes:
        systems: System names in first-seen order.
        low: (pairs,) index of each pair's first system (the lower index).
        high: (pairs,) index of each pair's second system.
        successes: (prompts, pairs) sparse wins of the first system (ties count half).
        trials: (prompts, pairs) sparse verdict counts.

    """

    systems: tuple[str, ...]
    low: IntArray
    high: IntArray
    successes: sparse.csr_array
    trials: sparse.csr_array

    @property
    def n_prompts(self) -> int:
        """Number of prompts (bootstrap clusters)."""
        return int(self.trials.shape[0])

    @classmethod
    def of(cls, resolved: Sequence[Verdict]) -> PairTable:
        """Fold resolved verdicts (outcome not None) into the table."""
        systems = tuple(dict.fromkeys(name for v in resolved for name in (v.model_a, v.model_b)))
        position = {name: i for i, name in enumerate(systems)}
        first = np.fromiter((position[v.model_a] for v in resolved), dtype=np.intp, count=len(resolved))
        second = np.fromiter((position[v.model_b] for v in resolved), dtype=np.intp, count=len(resolved))
        score = np.fromiter(
            (OUTCOME_SCORE[v.outcome] for v in resolved if v.outcome is not None), dtype=np.float64
        )
        swap = first > second
        low, high = np.where(swap, second, first), np.where(swap, first, second)
        pair_codes, pair = np.unique(low * len(systems) + high, return_inverse=True)
        prompt, n_prompts = cluster_index([v.prompt_id for v in resolved])
        shape = (n_prompts, pair_codes.size)
        wins = np.where(swap, 1.0 - score, score)
        return cls(
            systems=systems,
            low=pair_codes // len(systems),
            high=pair_codes % len(systems),
            successes=sparse.csr_array((wins, (prompt, pair)), shape=shape),
            trials=sparse.csr_array((np.ones(len(resolved)), (prompt, pair)), shape=shape),
        )

    def totals(self, weights: FloatArray | None = None) -> tuple[FloatArray, FloatArray]:
        """Per-pair successes and trials, (replicates, pairs), under (replicates, prompts) weights.

        Without weights, the data's own totals as one replicate.
        """
        if weights is None:
            return _floats(self.successes.sum(axis=0))[None], _floats(self.trials.sum(axis=0))[None]
        return _floats(self.successes.T @ weights.T).T, _floats(self.trials.T @ weights.T).T


def _floats(values: object) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def fit_pairs(
    table: PairTable, successes: FloatArray, trials: FloatArray, ridge: float, start: FloatArray | None = None
) -> FloatArray:
    """Penalised maximum-likelihood log-strengths for each replicate, by damped Newton ascent.

    Args:
        table: The pairs (``low``, ``high``) and systems.
        successes: (replicates, pairs) successes of each pair's first system.
        trials: (replicates, pairs) trials.
        ridge: Prior precision on each log-strength (strictly positive).
        start: (systems,) or (replicates, systems) starting point; zeros by default.

    Returns:
        (replicates, systems) natural-log strengths.

    """
    n_rep, n_sys = successes.shape[0], len(table.systems)
    beta = np.zeros((n_rep, n_sys)) if start is None else np.broadcast_to(start, (n_rep, n_sys)).copy()
    fit = _Problem(table.low, table.high, n_sys, ridge)
    return newton_ascent(successes, trials, beta, fit.objective, fit.newton_step)


@dataclass(frozen=True)
class _Problem:
    low: IntArray
    high: IntArray
    n_sys: int
    ridge: float

    def eta(self, beta: FloatArray) -> FloatArray:
        difference: FloatArray = beta[:, self.low] - beta[:, self.high]
        return difference

    def objective(self, successes: FloatArray, trials: FloatArray, beta: FloatArray) -> FloatArray:
        eta = self.eta(beta)
        data = (successes * eta - trials * np.logaddexp(0.0, eta)).sum(axis=1)
        value: FloatArray = data - 0.5 * self.ridge * (beta**2).sum(axis=1)
        return value

    def newton_step(self, successes: FloatArray, trials: FloatArray, beta: FloatArray) -> FloatArray:
        prob = expit(self.eta(beta))
        residual = successes - trials * prob
        gradient = _floats(self._spread(residual, -residual) - self.ridge * beta)
        hessian = self._laplacian(trials * prob * (1.0 - prob))
        return _floats(np.linalg.solve(hessian, gradient[..., None])[..., 0])

    def _spread(self, on_low: FloatArray, on_high: FloatArray) -> FloatArray:
        """Sum per-pair values onto systems: (replicates, pairs) -> (replicates, systems)."""
        rows = np.arange(on_low.shape[0])[:, None] * self.n_sys
        flat = np.concatenate([(rows + self.low).ravel(), (rows + self.high).ravel()])
        values = np.concatenate([on_low.ravel(), on_high.ravel()])
        summed = _floats(np.bincount(flat, values, on_low.shape[0] * self.n_sys))
        return summed.reshape(on_low.shape[0], self.n_sys)

    def _laplacian(self, weight: FloatArray) -> FloatArray:
        """Negative Hessian: sum over pairs of weight * (e_low - e_high)(e_low - e_high)^T, plus the ridge."""
        n_rep, n = weight.shape[0], self.n_sys
        rows = np.arange(n_rep)[:, None] * n * n
        cells = [
            self.low * n + self.low,
            self.high * n + self.high,
            self.low * n + self.high,
            self.high * n + self.low,
        ]
        flat = np.concatenate([(rows + c).ravel() for c in cells])
        values = np.concatenate([weight.ravel(), weight.ravel(), -weight.ravel(), -weight.ravel()])
        hessian = _floats(np.bincount(flat, values, n_rep * n * n)).reshape(n_rep, n, n)
        hessian[:, np.arange(n), np.arange(n)] += self.ridge
        return hessian
