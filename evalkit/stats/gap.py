"""In- vs out-of-distribution gap: difference of win rates with a CI and a permutation test."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from evalkit.records import IN_DISTRIBUTION, OUT_OF_DISTRIBUTION, Prompt
from evalkit.stats.clusters import permutation_p_value
from evalkit.stats.common import bootstrap, check_confidence
from evalkit.stats.intervals import difference_interval
from evalkit.stats.pairwise import Verdict, partition_verdicts, score_table


@dataclass(frozen=True, slots=True)
class SplitGap:
    """Difference of win rates between two prompt groups, with CI and permutation p-value.

    ``difference`` is rate_x - rate_y. The interval combines the two rates' intervals
    (Newcombe's method, evalkit.stats.intervals), each from prompts resampled within its group;
    the two-sided p-value reshuffles the group labels of whole prompts.
    """

    model_a: str
    model_b: str
    source: str
    group_x: str
    group_y: str
    rate_x: float
    rate_y: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float


def split_gap(
    verdicts: Sequence[Verdict],
    prompts: Mapping[str, Prompt],
    *,
    groups: tuple[str, str] = (IN_DISTRIBUTION, OUT_OF_DISTRIBUTION),
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> list[SplitGap]:
    """Win-rate gap between two splits for each comparison, with a CI and a permutation p-value.

    Args:
        verdicts: Reconciled verdicts.
        prompts: Prompt id -> Prompt (its ``split`` decides the group).
        groups: The two split labels to compare, x first: difference = rate_x - rate_y.
        n_boot: Bootstrap replicates for the interval, and random relabellings for the test.
        seed: Seed for both.
        confidence: Interval coverage.

    Returns:
        One SplitGap per (model_a, model_b, source) with resolved verdicts in both groups.

    """
    check_confidence(confidence)
    by_split = partition_verdicts(verdicts, prompts, "split")
    pairs = dict.fromkeys(key[:3] for key in by_split)
    gaps = []
    for pair in pairs:
        cell_x = [v for v in by_split.get((*pair, groups[0]), []) if v.outcome is not None]
        cell_y = [v for v in by_split.get((*pair, groups[1]), []) if v.outcome is not None]
        if cell_x and cell_y:
            gaps.append(_split_gap(pair, groups, cell_x, cell_y, n_boot, seed, confidence))
    return gaps


def _split_gap(
    pair: tuple[str, str, str],
    groups: tuple[str, str],
    cell_x: Sequence[Verdict],
    cell_y: Sequence[Verdict],
    n_boot: int,
    seed: int,
    confidence: float,
) -> SplitGap:
    table_x, table_y = score_table(cell_x), score_table(cell_y)
    rate_x = float(table_x.scores.sum() / table_x.counts.sum())
    rate_y = float(table_y.scores.sum() / table_y.counts.sum())
    rng = np.random.default_rng(seed)
    boot_x = bootstrap(table_x.counts.size, n_boot, rng, table_x.rates)
    boot_y = bootstrap(table_y.counts.size, n_boot, rng, table_y.rates)
    clusters_x, clusters_y = table_x.counts.size, table_y.counts.size
    low, high = difference_interval((rate_x, boot_x, clusters_x), (rate_y, boot_y, clusters_y), confidence)
    p_value = permutation_p_value(table_x, table_y, rate_x - rate_y, n_boot, rng)
    return SplitGap(*pair, *groups, rate_x, rate_y, rate_x - rate_y, low, high, p_value)
