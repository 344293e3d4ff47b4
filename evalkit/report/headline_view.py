"""The report's first screen: the answer to the question, before the run's facts.

Each comparison's win rate with its interval and n, the in- vs out-of-distribution gap
with its reading, the best system of each leaderboard, and the trust caveat in one line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from evalkit.report.leaderboard_view import Leaderboard
from evalkit.report.pairwise_view import JudgeComparisons
from evalkit.stats import SplitGap, WinRate

SIGNIFICANCE = 0.05


@dataclass(frozen=True, slots=True)
class HeadlineRow:
    """One comparison by one judge: its overall win rate and, where both splits exist, the gap."""

    model_a: str
    model_b: str
    source: str
    anchor: str
    rate: WinRate
    gap: SplitGap | None

    @property
    def reading(self) -> str:
        """The win rate in words: which system the judge prefers, if the interval says so."""
        rate = self.rate
        if rate.n == 0 or math.isnan(rate.ci_low):
            return "no resolved verdict yet"
        if rate.ci_low > 0.5:
            return f"{self.model_a} is preferred"
        if rate.ci_high < 0.5:
            return f"{self.model_b} is preferred"
        return "no clear preference (the interval includes 50%)"

    @property
    def gap_reading(self) -> str:
        """The in- vs out-of-distribution gap in words."""
        gap = self.gap
        if gap is None:
            return ""
        if not math.isnan(gap.p_value) and gap.p_value < SIGNIFICANCE:
            side = "in-distribution" if gap.difference > 0 else "out-of-distribution"
            return f"better on {side} prompts (p = {gap.p_value:.3f})"
        return "no evidence that it differs between splits"


@dataclass(frozen=True, slots=True)
class Best:
    """The top of one leaderboard."""

    source: str
    system: str
    score: float
    ci_low: float
    ci_high: float
    tied: bool


@dataclass(frozen=True, slots=True)
class Headline:
    """What the first screen shows."""

    rows: tuple[HeadlineRow, ...]
    best: tuple[Best, ...]
    caveat: str


def build_headline(
    pairwise: Sequence[JudgeComparisons], leaderboards: Sequence[Leaderboard], local_judges: Sequence[str]
) -> Headline:
    """Collect the headline from the views the report already computed."""
    rows = tuple(
        HeadlineRow(view.model_a, view.model_b, view.source, view.id, view.overall, view.gap)
        for block in pairwise
        for view in block.comparisons
        if view.overall is not None
    )
    return Headline(rows, tuple(_best(board) for board in leaderboards if board.rows), _caveat(local_judges))


def _best(board: Leaderboard) -> Best:
    top = board.rows[0].rating
    tied = sum(1 for row in board.rows if row.rating.rank == top.rank) > 1
    return Best(board.source, top.system, top.score, top.ci_low, top.ci_high, tied)


def _caveat(local_judges: Sequence[str]) -> str:
    if local_judges:
        return (
            f"Judged by {', '.join(local_judges)}, a demonstration judge: these numbers show the pipeline "
            "working, not which system is better."
        )
    return ""
