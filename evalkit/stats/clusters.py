"""Per-prompt score sums of one comparison: the unit that bootstraps and permutations move."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from evalkit.stats.common import FloatArray, IntArray, cluster_index, cluster_sums, permutation_draws, ratio


@dataclass(frozen=True, slots=True)
class ScoreTable:
    """Sums per prompt of model_a's scores, verdict counts and (optionally) expected scores."""

    scores: FloatArray
    counts: FloatArray
    expected: FloatArray | None

    @classmethod
    def of(
        cls, prompt_ids: Sequence[Hashable], scores: Sequence[float], expected: Sequence[float] | None
    ) -> ScoreTable:
        """Fold per-verdict values into per-prompt sums."""
        index, n_clusters = cluster_index(prompt_ids)
        return cls(
            scores=cluster_sums(index, n_clusters, np.asarray(scores, dtype=np.float64)),
            counts=cluster_sums(index, n_clusters, np.ones(len(prompt_ids))),
            expected=None if expected is None else cluster_sums(index, n_clusters, np.asarray(expected)),
        )

    def rates(self, draws: IntArray) -> FloatArray:
        """Discrete win rate of each replicate (shape (replicates,))."""
        return ratio(self.scores[draws].sum(axis=1), self.counts[draws].sum(axis=1))

    def replicate_rates(self, draws: IntArray) -> FloatArray:
        """(replicates, 2): discrete and expected win rate of each replicate."""
        denominator = self.counts[draws].sum(axis=1)
        discrete = ratio(self.scores[draws].sum(axis=1), denominator)
        if self.expected is None:
            return np.stack([discrete, np.full_like(discrete, np.nan)], axis=1)
        return np.stack([discrete, ratio(self.expected[draws].sum(axis=1), denominator)], axis=1)


def permutation_p_value(
    table_x: ScoreTable, table_y: ScoreTable, observed: float, n_perm: int, rng: np.random.Generator
) -> float:
    """Two-sided p-value of a win-rate gap when prompts' group labels are shuffled (add-one corrected)."""
    if n_perm <= 0:
        return math.nan
    scores = np.concatenate([table_x.scores, table_y.scores])
    counts = np.concatenate([table_x.counts, table_y.counts])
    total_score, total_count = scores.sum(), counts.sum()
    extreme = 0
    for chosen in permutation_draws(counts.size, table_x.counts.size, n_perm, rng):
        score_x, count_x = scores[chosen].sum(axis=1), counts[chosen].sum(axis=1)
        gap = ratio(score_x, count_x) - ratio(total_score - score_x, total_count - count_x)
        extreme += int(np.count_nonzero(np.abs(gap) >= abs(observed) - 1e-12))
    return (1 + extreme) / (1 + n_perm)
