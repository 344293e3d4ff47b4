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
from scipy import sparse
from scipy.special import expit

from evalkit.records import Response
from evalkit.stats.alpaca_eval import verdict_score
from evalkit.stats.common import FloatArray, IntArray, cluster_index
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
    """The joint model of all candidates, fitted once; leaving one out refits from that fit."""

    def __init__(self, systems: Sequence[str], rows: Sequence[SoftRows]) -> None:
        self.systems = tuple(systems)
        self.rows = tuple(rows)
        self.ids = list(dict.fromkeys(p for r in rows for p in r.prompt_ids))
        prompt_index, n_prompts = cluster_index([p for r in rows for p in r.prompt_ids])
        self.design = _joint_design(rows, prompt_index, n_prompts)
        self.scores = np.concatenate([r.scores for r in rows]) if rows else np.zeros(0)
        self.ridge = np.concatenate(
            [np.full(2 * len(rows), SYSTEM_PRECISION), np.full(n_prompts, DIFFICULTY_PRECISION)]
        )
        self.head = 2 * len(rows)
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
        others = [name for name in self.systems if name != leave_out]
        if not others:
            return {}
        if self._full is None:
            self._full = _fit_sparse(
                self.design, self.scores, np.ones(self.scores.size), self.ridge, None, self.head
            )
        beta = self._full
        if leave_out in self.systems:
            weights = np.concatenate(
                [
                    np.full(r.scores.size, float(n != leave_out))
                    for n, r in zip(self.systems, self.rows, strict=True)
                ]
            )
            beta = _fit_sparse(self.design, self.scores, weights, self.ridge, self._full, self.head)
            seen = np.asarray(self.design[weights > 0].sum(axis=0)).ravel()[2 * len(self.rows) :] > 0
        else:
            seen = np.ones(len(self.ids), dtype=bool)
        # the model's d_p is the logit of beating the baseline; difficulty is its negation
        difficulty = -beta[2 * len(self.rows) :]
        difficulty = difficulty - difficulty[seen].mean()
        return {p: float(difficulty[i]) for i, p in enumerate(self.ids) if seen[i]}


def _fit_sparse(
    design: sparse.csr_matrix,
    scores: FloatArray,
    weights: FloatArray,
    ridge: FloatArray,
    start: FloatArray | None,
    head: int,
) -> FloatArray:
    """Penalised, weighted soft-label logistic regression by damped Newton steps on a sparse design.

    The objective is concave. Each row touches one prompt column, so the Hessian is an arrow
    matrix (a dense block for the ``head`` system columns, a diagonal for the prompts), solved
    exactly through its Schur complement; a warm start converges in a handful of steps.
    """
    beta = np.zeros(design.shape[1]) if start is None else start.copy()
    value = _penalised(design, scores, weights, ridge, beta)
    for _ in range(100):
        prob = expit(design @ beta)
        gradient = design.T @ (weights * (scores - prob)) - ridge * beta
        curvature = sparse.diags(weights * prob * (1 - prob))
        step = _arrow_solve((design.T @ curvature @ design).tocsr(), ridge, gradient, head)
        scale = 1.0
        while scale > 1e-6:
            candidate = _penalised(design, scores, weights, ridge, beta + scale * step)
            if candidate >= value - 1e-12 * (1 + abs(value)):
                break
            scale /= 2
        beta, value = beta + scale * step, max(candidate, value)
        if np.abs(scale * step).max() < 1e-9 * (1 + np.abs(beta).max()):
            break
    return beta


def _arrow_solve(
    hessian: sparse.csr_matrix, ridge: FloatArray, gradient: FloatArray, head: int
) -> FloatArray:
    """Solve (hessian + diag(ridge)) x = gradient where only the first ``head`` rows/columns are dense."""
    block = hessian[:head, :head].toarray() + np.diag(ridge[:head])
    border = hessian[:head, head:].toarray()
    diagonal = hessian.diagonal()[head:] + ridge[head:]
    schur = block - (border / diagonal) @ border.T
    top = np.linalg.solve(schur, gradient[:head] - border @ (gradient[head:] / diagonal))
    rest = (gradient[head:] - border.T @ top) / diagonal
    solved: FloatArray = np.concatenate([top, rest])
    return solved


def _penalised(
    design: sparse.csr_matrix, scores: FloatArray, weights: FloatArray, ridge: FloatArray, beta: FloatArray
) -> float:
    eta = design @ beta
    return float((weights * (scores * eta - np.logaddexp(0.0, eta))).sum() - 0.5 * (ridge * beta**2).sum())


def _joint_design(rows: Sequence[SoftRows], prompt_index: IntArray, n_prompts: int) -> sparse.csr_matrix:
    """Columns: per system an intercept and a length slope, then one indicator per prompt."""
    if not rows:
        return sparse.csr_matrix((0, n_prompts))
    n_systems = len(rows)
    system = np.concatenate([np.full(r.scores.size, s) for s, r in enumerate(rows)])
    length = np.concatenate([r.length for r in rows])
    n_items = system.size
    items = np.arange(n_items)
    row_ids = np.concatenate([items, items, items])
    columns = np.concatenate([2 * system, 2 * system + 1, 2 * n_systems + prompt_index])
    values = np.concatenate([np.ones(n_items), length, np.ones(n_items)])
    shape = (n_items, 2 * n_systems + n_prompts)
    return sparse.csr_matrix((values, (row_ids, columns)), shape=shape)
