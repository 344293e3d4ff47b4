"""Soft-preference rows for length-controlled models, and instruction difficulty estimated from them.

AlpacaEval's length-controlled win rate needs each instruction's difficulty: how hard it is
for any model to beat the baseline on it. AlpacaEval ships values fitted across its whole
leaderboard. Where none are given, ``estimate_instruction_difficulty`` fits them from the
systems being compared, with one joint logistic model over every candidate's verdicts
against the baseline:

    logit P(candidate s beats the baseline on instruction p) = theta_s + phi_s * x_sp + d_p

where x_sp is s's bounded standardized length difference (see ``length_feature``) and d_p
the instruction's difficulty term, which has a Gaussian prior (precision
``DIFFICULTY_PRECISION``) so that an instruction seen by few systems stays near zero. The
d_p are centred to mean zero. With few systems the estimate is noisy, so the resulting
length-controlled rates are less precise than with a difficulty file; the report says which
was used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from evalkit.records import Response
from evalkit.stats.alpaca_eval import verdict_score
from evalkit.stats.common import FloatArray, cluster_index
from evalkit.stats.lengths import response_lengths, verdict_lengths
from evalkit.stats.pairwise import Verdict

DIFFICULTY_PRECISION = 1.0
"""Prior precision of each instruction's difficulty (logit scale): a standard-normal prior."""
SYSTEM_PRECISION = 1e-4
"""Prior precision of each system's intercept and length slope (negligible with data)."""


@dataclass(frozen=True, slots=True)
class SoftRows:
    """One comparison's usable verdicts as arrays: prompt ids, soft scores and length features."""

    prompt_ids: tuple[str, ...]
    scores: FloatArray
    length: FloatArray


def length_feature(differences: FloatArray) -> FloatArray:
    """tanh(d / sd(d)): the length difference standardized (ddof = 1) and bounded to (-1, 1)."""
    spread = float(differences.std(ddof=1)) if differences.size > 1 else 0.0
    if not spread > 0:
        return np.zeros_like(differences)
    bounded: FloatArray = np.tanh(differences / spread)
    return bounded


def soft_rows(cell: Sequence[Verdict], lengths: dict[tuple[str, str, int], int]) -> SoftRows:
    """Resolved verdicts whose two responses have known lengths, as soft scores and length features."""
    used = [(v, pair) for v in cell if v.outcome is not None and (pair := verdict_lengths(v, lengths))]
    differences = np.array([a - b for _, (a, b) in used], dtype=np.float64)
    return SoftRows(
        prompt_ids=tuple(v.prompt_id for v, _ in used),
        scores=np.array([verdict_score(v) for v, _ in used], dtype=np.float64),
        length=length_feature(differences),
    )


def estimate_instruction_difficulty(
    verdicts: Sequence[Verdict], responses: Sequence[Response], baseline: str, *, leave_out: str | None = None
) -> dict[str, float]:
    """Each instruction's difficulty from every candidate's verdicts against ``baseline``.

    Args:
        verdicts: Reconciled verdicts of one judge source.
        responses: The responses compared, for their lengths.
        baseline: The system every candidate was compared with (model_b).
        leave_out: A candidate whose verdicts are not used.

    Returns:
        Prompt id -> difficulty on the logit scale (mean zero; higher = harder to beat the
        baseline). Empty when no candidate has usable verdicts.

    """
    return DifficultyModel.of(verdicts, responses, baseline).difficulty(leave_out)


class DifficultyModel:
    """The joint model of all candidates, fitted once; leaving one out refits from that fit.

    Parameters are laid out as [theta_0, phi_0, theta_1, phi_1, ..., d_0, d_1, ...]. Each
    verdict touches one system's pair and one prompt, so the Hessian is an arrow matrix:
    2 x 2 blocks for the systems, a diagonal for the prompts, and a border between them. It is
    assembled with ``bincount`` and solved exactly through its Schur complement.
    """

    def __init__(self, systems: Sequence[str], rows: Sequence[SoftRows]) -> None:
        self.systems = tuple(systems)
        self.rows = tuple(rows)
        self.ids = list(dict.fromkeys(p for r in rows for p in r.prompt_ids))
        self.prompt, self.n_prompts = cluster_index([p for r in rows for p in r.prompt_ids])
        per_system = [np.full(r.scores.size, s, dtype=np.intp) for s, r in enumerate(rows)]
        self.system = np.concatenate(per_system) if rows else np.zeros(0, dtype=np.intp)
        self.length = np.concatenate([r.length for r in rows]) if rows else np.zeros(0)
        self.scores = np.concatenate([r.scores for r in rows]) if rows else np.zeros(0)
        self.head = 2 * len(rows)
        self.ridge = np.concatenate(
            [np.full(self.head, SYSTEM_PRECISION), np.full(self.n_prompts, DIFFICULTY_PRECISION)]
        )
        self._full: FloatArray | None = None

    @classmethod
    def of(cls, verdicts: Sequence[Verdict], responses: Sequence[Response], baseline: str) -> DifficultyModel:
        """The model of every candidate's verdicts against ``baseline``."""
        lengths = response_lengths(responses)
        cells: dict[str, list[Verdict]] = {}
        for v in verdicts:
            if v.model_b == baseline and v.model_a != baseline:
                cells.setdefault(v.model_a, []).append(v)
        found = [(name, soft_rows(cell, lengths)) for name, cell in cells.items()]
        found = [(name, rows) for name, rows in found if rows.scores.size]
        return cls([name for name, _ in found], [rows for _, rows in found])

    def difficulty(self, leave_out: str | None = None) -> dict[str, float]:
        """Difficulty per prompt id, from every candidate but ``leave_out``."""
        if not [name for name in self.systems if name != leave_out]:
            return {}
        if self._full is None:
            self._full = self._fit(np.ones(self.scores.size), None)
        beta, weights = self._full, np.ones(self.scores.size)
        if leave_out in self.systems:
            weights = (self.system != self.systems.index(leave_out)).astype(np.float64)
            beta = self._fit(weights, self._full)
        seen = np.bincount(self.prompt, weights=weights, minlength=self.n_prompts) > 0
        # the model's d_p is the logit of beating the baseline; difficulty is its negation
        difficulty = -beta[self.head :]
        difficulty = difficulty - difficulty[seen].mean()
        return {p: float(difficulty[i]) for i, p in enumerate(self.ids) if seen[i]}

    def _eta(self, beta: FloatArray) -> FloatArray:
        eta: FloatArray = (
            beta[2 * self.system] + beta[2 * self.system + 1] * self.length + beta[self.head + self.prompt]
        )
        return eta

    def _value(self, beta: FloatArray, weights: FloatArray) -> float:
        eta = self._eta(beta)
        data = (weights * (self.scores * eta - np.logaddexp(0.0, eta))).sum()
        return float(data - 0.5 * (self.ridge * beta**2).sum())

    def _fit(self, weights: FloatArray, start: FloatArray | None) -> FloatArray:
        """Damped Newton ascent of the penalised soft-label likelihood."""
        beta = np.zeros(self.head + self.n_prompts) if start is None else start.copy()
        value = self._value(beta, weights)
        for _ in range(100):
            step = self._newton_step(beta, weights)
            scale, candidate = 1.0, self._value(beta + step, weights)
            while candidate < value - 1e-12 * (1 + abs(value)) and scale > 1e-6:
                scale /= 2
                candidate = self._value(beta + scale * step, weights)
            beta, value = beta + scale * step, max(candidate, value)
            if np.abs(scale * step).max() < 1e-7 * (1 + np.abs(beta).max()):  # far below any visible digit
                break
        return beta

    def _newton_step(self, beta: FloatArray, weights: FloatArray) -> FloatArray:
        prob = expit(self._eta(beta))
        residual, curvature = weights * (self.scores - prob), weights * prob * (1 - prob)
        n_sys, x = len(self.rows), self.length
        gradient = (
            np.concatenate(
                [
                    np.stack(
                        [
                            np.bincount(self.system, residual, n_sys),
                            np.bincount(self.system, residual * x, n_sys),
                        ],
                        1,
                    ).ravel(),
                    np.bincount(self.prompt, residual, self.n_prompts),
                ]
            )
            - self.ridge * beta
        )
        block = np.zeros((self.head, self.head))
        for u, v in ((0, 0), (0, 1), (1, 1)):  # each system's 2 x 2 block: intercept and slope
            sums = np.bincount(self.system, curvature * x ** (u + v), n_sys)
            block[np.arange(n_sys) * 2 + u, np.arange(n_sys) * 2 + v] = sums
            block[np.arange(n_sys) * 2 + v, np.arange(n_sys) * 2 + u] = sums
        block += np.diag(self.ridge[: self.head])
        cell = self.system * self.n_prompts + self.prompt
        size = n_sys * self.n_prompts
        border = np.stack(
            [
                np.bincount(cell, curvature, size).reshape(n_sys, self.n_prompts),
                np.bincount(cell, curvature * x, size).reshape(n_sys, self.n_prompts),
            ],
            1,
        ).reshape(self.head, self.n_prompts)
        diagonal = np.bincount(self.prompt, curvature, self.n_prompts) + self.ridge[self.head :]
        schur = block - (border / diagonal) @ border.T
        top = np.linalg.solve(schur, gradient[: self.head] - border @ (gradient[self.head :] / diagonal))
        rest = (gradient[self.head :] - border.T @ top) / diagonal
        step: FloatArray = np.concatenate([top, rest])
        return step
