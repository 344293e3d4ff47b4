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
from scipy import optimize, sparse
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
    verdicts: Sequence[Verdict], responses: Sequence[Response], baseline: str
) -> dict[str, float]:
    """Each instruction's difficulty from every candidate's verdicts against ``baseline``.

    Args:
        verdicts: Reconciled verdicts of one judge source.
        responses: The responses compared, for their lengths.
        baseline: The system every candidate was compared with (model_b).

    Returns:
        Prompt id -> difficulty on the logit scale (mean zero; higher = harder to beat the
        baseline). Empty when no candidate has usable verdicts.

    """
    lengths = response_lengths(responses)
    cells: dict[str, list[Verdict]] = {}
    for v in verdicts:
        if v.model_b == baseline and v.model_a != baseline:
            cells.setdefault(v.model_a, []).append(v)
    rows = [soft_rows(cell, lengths) for cell in cells.values()]
    rows = [r for r in rows if r.scores.size]
    if not rows:
        return {}
    prompt_index, n_prompts = cluster_index([p for r in rows for p in r.prompt_ids])
    design = _joint_design(rows, prompt_index, n_prompts)
    scores = np.concatenate([r.scores for r in rows])
    ridge = np.concatenate(
        [np.full(2 * len(rows), SYSTEM_PRECISION), np.full(n_prompts, DIFFICULTY_PRECISION)]
    )
    beta = _fit_sparse(design, scores, ridge)
    # the model's d_p is the logit of beating the baseline; difficulty is its negation
    difficulty = -beta[2 * len(rows) :]
    difficulty -= difficulty.mean()
    ids = list(dict.fromkeys(p for r in rows for p in r.prompt_ids))
    return {prompt_id: float(difficulty[i]) for i, prompt_id in enumerate(ids)}


def _fit_sparse(design: sparse.csr_matrix, scores: FloatArray, ridge: FloatArray) -> FloatArray:
    """Penalised soft-label logistic regression by L-BFGS (the design is sparse and wide)."""

    def objective(beta: FloatArray) -> tuple[float, FloatArray]:
        eta = design @ beta
        value = -(scores * eta - np.logaddexp(0.0, eta)).sum() + 0.5 * (ridge * beta**2).sum()
        gradient = -(design.T @ (scores - expit(eta))) + ridge * beta
        return float(value), gradient

    start = np.zeros(design.shape[1])
    result = optimize.minimize(
        objective, start, jac=True, method="L-BFGS-B", options={"gtol": 1e-8, "maxiter": 2000}
    )
    fitted: FloatArray = result.x
    return fitted


def _joint_design(rows: Sequence[SoftRows], prompt_index: IntArray, n_prompts: int) -> sparse.csr_matrix:
    """Columns: per system an intercept and a length slope, then one indicator per prompt."""
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
