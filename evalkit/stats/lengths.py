"""Response lengths and the logistic model of verdicts on length differences."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evalkit.records import Response
from evalkit.stats.common import FloatArray, IntArray, bootstrap, cluster_index, draw_counts
from evalkit.stats.logistic import fit_logistic
from evalkit.stats.pairwise import Verdict

LENGTH_RIDGE = (1e-6, 1e-3)
"""Prior precisions of the length model's intercept and slope (keeps separated data finite)."""

LengthKey = tuple[str, str, int]


def response_lengths(responses: Sequence[Response]) -> dict[LengthKey, int]:
    """Characters of each usable response (all turns), keyed by (prompt_id, system, sample)."""
    return {r.key: sum(len(text) for text in r.outputs) for r in responses if r.error is None and r.outputs}


def verdict_lengths(verdict: Verdict, lengths: dict[LengthKey, int]) -> tuple[int, int] | None:
    """Lengths of the two responses a verdict compared (same sample, else sample 0), if known."""
    found = []
    for system in (verdict.model_a, verdict.model_b):
        length = lengths.get((verdict.prompt_id, system, verdict.sample))
        if length is None:
            length = lengths.get((verdict.prompt_id, system, 0))
        if length is None:
            return None
        found.append(length)
    return (found[0], found[1])


def length_slope_fit(
    differences: FloatArray, scores: FloatArray, prompt_ids: Sequence[str], n_boot: int, seed: int
) -> tuple[FloatArray, FloatArray]:
    """Fit score ~ sigmoid(b0 + b1 * difference); return the point (2,) and bootstrap (n_boot, 2)."""
    design = np.column_stack([np.ones(differences.size), differences])
    ridge = np.array(LENGTH_RIDGE)
    point = fit_logistic(design, scores[None], np.ones((1, scores.size)), ridge)[0]
    index, n_prompts = cluster_index(list(prompt_ids))

    def refit(draws: IntArray) -> FloatArray:
        per_item = draw_counts(draws, n_prompts)[:, index]
        return fit_logistic(design, per_item * scores, per_item, ridge, point)

    return point, bootstrap(n_prompts, n_boot, seed, refit)
