"""Token distribution shift: how often an aligned answer's tokens are the base model's own choices.

Each token of an aligned answer has a rank under the base model given the same context (1: the
base model's top choice). Following URIAL's analysis, positions are unshifted (rank 1),
marginal (rank 2 or 3) or shifted (rank above 3). Shares are token shares (all tokens of all
answers pooled); intervals resample whole prompts, so the tokens of one answer move together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from evalkit.analysis.shift_records import ShiftAnswer
from evalkit.records import Prompt
from evalkit.stats.common import (
    FloatArray,
    GroupBy,
    IntArray,
    bootstrap,
    cluster_index,
    cluster_sums,
    group_label,
    identity_draws,
    percentile_columns,
    ratio,
)

ShiftClass = Literal["unshifted", "marginal", "shifted"]
SHIFT_CLASSES: tuple[ShiftClass, ...] = ("unshifted", "marginal", "shifted")
MARGINAL_MAX_RANK = 3
POSITION_BUCKETS: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 4), (4, 8), (8, 16), (16, 32), (32, 64), (64, 128), (128, 1 << 30),
)  # fmt: skip
"""Token position ranges [start, stop), 0-based, doubling: shifts concentrate on early tokens."""


def classify(rank: int) -> ShiftClass:
    """The class of one token position from the base model's rank of the aligned token.

    Raises:
        ValueError: The rank is below 1.

    """
    if rank < 1:
        raise ValueError(f"a token rank starts at 1, got {rank}")
    if rank == 1:
        return "unshifted"
    return "marginal" if rank <= MARGINAL_MAX_RANK else "shifted"


def class_counts(ranks: Sequence[int]) -> tuple[int, int, int]:
    """Counts of unshifted, marginal and shifted positions among ``ranks``."""
    counts = Counter(classify(rank) for rank in ranks)
    return (counts["unshifted"], counts["marginal"], counts["shifted"])


@dataclass(frozen=True, slots=True)
class ShiftShares:
    """Token shares of each class for one (base, aligned) pair and group, with intervals."""

    base: str
    aligned: str
    group: str
    answers: int
    tokens: int
    shares: dict[ShiftClass, float]
    share_ci: dict[ShiftClass, tuple[float, float]]


@dataclass(frozen=True, slots=True)
class PositionShift:
    """The shifted share of the tokens at positions [start, stop) of the answers."""

    start: int
    stop: int
    tokens: int
    shifted_share: float
    ci: tuple[float, float]

    @property
    def label(self) -> str:
        """Human positions, 1-based: "1", "3-4", "129+"."""
        if self.stop - self.start == 1:
            return str(self.start + 1)
        if self.stop >= 1 << 30:
            return f"{self.start + 1}+"
        return f"{self.start + 1}-{self.stop}"


@dataclass(frozen=True, slots=True)
class ShiftedToken:
    """A token the aligned system chose where the base model would have chosen another."""

    token: str
    shifted: int
    occurrences: int
    base_choice: str


def scored(answers: Sequence[ShiftAnswer]) -> list[ShiftAnswer]:
    """The answers that were scored (errors are counted elsewhere, never scored)."""
    return [a for a in answers if a.error is None]


def shift_shares(
    answers: Sequence[ShiftAnswer],
    prompts: Mapping[str, Prompt],
    *,
    by: GroupBy = "all",
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[ShiftShares]:
    """Class shares per (base, aligned, group), with prompt-clustered bootstrap intervals."""
    groups: dict[tuple[str, str, str], list[ShiftAnswer]] = {}
    for answer in scored(answers):
        label = group_label(answer.prompt_id, prompts, by)
        groups.setdefault((answer.base, answer.aligned, label), []).append(answer)
    return [_shares(key, members, n_boot, confidence, seed) for key, members in sorted(groups.items())]


def _shares(
    key: tuple[str, str, str], answers: list[ShiftAnswer], n_boot: int, confidence: float, seed: int
) -> ShiftShares:
    index, n_clusters = cluster_index([a.prompt_id for a in answers])
    counts = cluster_sums(index, n_clusters, np.asarray([class_counts(a.ranks) for a in answers], float))

    def statistic(draws: IntArray) -> FloatArray:
        drawn = counts[draws].sum(axis=1)
        return ratio(drawn, drawn.sum(axis=1, keepdims=True))

    point = statistic(identity_draws(n_clusters))[0]
    intervals = percentile_columns(bootstrap(n_clusters, n_boot, seed, statistic), confidence)
    base, aligned, group = key
    return ShiftShares(
        base=base,
        aligned=aligned,
        group=group,
        answers=len(answers),
        tokens=int(counts.sum()),
        shares={c: float(point[i]) for i, c in enumerate(SHIFT_CLASSES)},
        share_ci={c: intervals[i] for i, c in enumerate(SHIFT_CLASSES)},
    )


def shift_by_position(
    answers: Sequence[ShiftAnswer],
    *,
    buckets: Sequence[tuple[int, int]] = POSITION_BUCKETS,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[PositionShift]:
    """The shifted share of tokens per position range (empty ranges left out), with intervals."""
    kept = scored(answers)
    if not kept:
        return []
    index, n_clusters = cluster_index([a.prompt_id for a in kept])
    per_answer = np.zeros((len(kept), len(buckets), 2))  # [..., 0]: shifted, [..., 1]: all tokens
    for row, answer in enumerate(kept):
        for column, (start, stop) in enumerate(buckets):
            window = answer.ranks[start:stop]
            per_answer[row, column] = (sum(r > MARGINAL_MAX_RANK for r in window), len(window))
    counts = cluster_sums(index, n_clusters, per_answer)

    def statistic(draws: IntArray) -> FloatArray:
        drawn = counts[draws].sum(axis=1)
        return ratio(drawn[..., 0], drawn[..., 1])

    point = statistic(identity_draws(n_clusters))[0]
    intervals = percentile_columns(bootstrap(n_clusters, n_boot, seed, statistic), confidence)
    totals = counts[..., 1].sum(axis=0)
    return [
        PositionShift(start, stop, int(totals[i]), float(point[i]), intervals[i])
        for i, (start, stop) in enumerate(buckets)
        if totals[i] > 0
    ]


def top_shifted_tokens(answers: Sequence[ShiftAnswer], limit: int = 20) -> list[ShiftedToken]:
    """The tokens most often shifted.

    Each comes with how often it occurs at all and the base model's usual choice in its place.
    """
    shifted: Counter[str] = Counter()
    occurrences: Counter[str] = Counter()
    instead: dict[str, Counter[str]] = {}
    for answer in scored(answers):
        for token, rank, top in zip(answer.tokens, answer.ranks, answer.top_tokens, strict=True):
            occurrences[token] += 1
            if rank > MARGINAL_MAX_RANK:
                shifted[token] += 1
                instead.setdefault(token, Counter())[top] += 1
    return [
        ShiftedToken(token, count, occurrences[token], instead[token].most_common(1)[0][0])
        for token, count in shifted.most_common(limit)
    ]
