"""Bradley–Terry leaderboard and length-controlled win rates, with seeded bootstrap CIs.

Both are logistic models fitted by ``evalkit.stats.logistic``: every bootstrap replicate is
refitted, all replicates at once, starting from the point estimate.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from evalkit.records import Response
from evalkit.stats.bt_fit import PairTable, fit_pairs
from evalkit.stats.common import (
    OUTCOME_SCORE,
    FloatArray,
    IntArray,
    StatsInputError,
    bootstrap,
    draw_counts,
    percentile_interval,
    safe_share,
)
from evalkit.stats.intervals import rate_interval
from evalkit.stats.lengths import length_slope_fit, response_lengths, verdict_lengths
from evalkit.stats.pairwise import Verdict, WinRate

BT_RIDGE = 1e-3
"""Prior precision on each log-strength: negligible with data, keeps unbeaten systems finite."""


@dataclass(frozen=True, slots=True)
class Rating:
    """One system's Bradley–Terry score on an Elo-like scale.

    A system rated ``scale`` points above another is expected to win 10 : 1 against it
    (ties count half). ``rank`` is 1 + the number of systems with a strictly higher score.
    """

    system: str
    score: float
    ci_low: float
    ci_high: float
    rank: int
    n_comparisons: int


def bradley_terry(
    verdicts: Sequence[Verdict],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    scale: float = 400.0,
    anchor: str | None = None,
    anchor_score: float = 1000.0,
    confidence: float = 0.95,
) -> list[Rating]:
    """Fit Bradley–Terry strengths to all resolved verdicts, with a prompt-cluster bootstrap.

    The model is P(i beats j) = 1 / (1 + 10 ** ((score_j - score_i) / scale)), ties counting
    half a win each way, fitted by penalised maximum likelihood (a weak ridge prior of
    precision ``BT_RIDGE`` per log-strength). All sources in ``verdicts`` are pooled: filter
    first to rate by one judge.

    Args:
        verdicts: Reconciled verdicts; unresolved ones are ignored.
        n_boot: Bootstrap replicates (whole prompts resampled); 0 gives nan intervals.
        seed: Seed for ``numpy.random.default_rng``.
        scale: Points per factor-10 odds, as in Elo.
        anchor: System fixed at ``anchor_score``; by default the mean score is.
        anchor_score: Score of the anchor (or the mean).
        confidence: Interval coverage.

    Returns:
        Ratings sorted best first.

    Raises:
        StatsInputError: ``anchor`` names no system in the verdicts.

    """
    resolved = [v for v in verdicts if v.outcome is not None]
    if not resolved:
        return []
    table = PairTable.of(resolved)
    if anchor is not None and anchor not in table.systems:
        raise StatsInputError(f"anchor system {anchor!r} has no resolved verdicts; known: {table.systems}")
    point = fit_pairs(table, *table.totals(), BT_RIDGE)

    def refit(draws: IntArray) -> FloatArray:
        return fit_pairs(table, *table.totals(draw_counts(draws, table.n_prompts)), BT_RIDGE, point[0])

    samples = bootstrap(table.n_prompts, n_boot, seed, refit)
    anchor_at = None if anchor is None else table.systems.index(anchor)
    scores = _to_points(point, scale, anchor_at, anchor_score)[0]
    boot_scores = _to_points(samples, scale, anchor_at, anchor_score) if samples.size else samples
    comparisons = Counter(name for v in resolved for name in (v.model_a, v.model_b))
    return _ratings(table.systems, scores, boot_scores, comparisons, confidence)


def _to_points(strengths: FloatArray, scale: float, anchor_at: int | None, anchor_score: float) -> FloatArray:
    """Convert (replicates, systems) natural-log strengths to anchored Elo-like points."""
    points = strengths * (scale / math.log(10.0))
    centre = points.mean(axis=1) if anchor_at is None else points[:, anchor_at]
    converted: FloatArray = points - centre[:, None] + anchor_score
    return converted


def _ratings(
    systems: Sequence[str],
    scores: FloatArray,
    samples: FloatArray,
    comparisons: Counter[str],
    confidence: float,
) -> list[Rating]:
    ratings = []
    for i, system in enumerate(systems):
        low, high = percentile_interval(samples[:, i], confidence) if samples.size else (math.nan, math.nan)
        rank = 1 + int(np.count_nonzero(scores > scores[i]))
        ratings.append(Rating(system, float(scores[i]), low, high, rank, comparisons[system]))
    return sorted(ratings, key=lambda rating: (rating.rank, rating.system))


def length_controlled_win_rate(
    verdicts: Sequence[Verdict],
    responses: Sequence[Response],
    *,
    seed: int = 0,
    n_boot: int = 1000,
    confidence: float = 0.95,
) -> list[WinRate]:
    """Win rate each comparison would have if both responses were equally long.

    For each (model_a, model_b, source), a logistic model of model_a's score (ties = 0.5) on
    x = tanh(d / sd(d)), with d = len_a - len_b in characters, is fitted; the reported win
    rate is the model's prediction at x = 0, i.e. sigmoid(intercept). The squashing keeps a
    few extreme lengths from dominating the slope. The interval refits the model on whole
    prompts resampled. Counts (wins, ties, losses, shares) are the raw ones of the verdicts
    used; resolved verdicts whose responses are missing are counted as ``unresolved``.

    Args:
        verdicts: Reconciled verdicts.
        responses: The responses compared, for their lengths.
        seed: Seed for ``numpy.random.default_rng``.
        n_boot: Bootstrap replicates; 0 gives nan intervals.
        confidence: Interval coverage.

    Returns:
        One WinRate per comparison with group "all".

    """
    lengths = response_lengths(responses)
    cells: dict[tuple[str, str, str], list[Verdict]] = {}
    for verdict in verdicts:
        cells.setdefault((verdict.model_a, verdict.model_b, verdict.source), []).append(verdict)
    return [_length_controlled(key, cell, lengths, seed, n_boot, confidence) for key, cell in cells.items()]


def _length_controlled(
    key: tuple[str, str, str],
    cell: Sequence[Verdict],
    lengths: dict[tuple[str, str, int], int],
    seed: int,
    n_boot: int,
    confidence: float,
) -> WinRate:
    used = [(v, pair) for v in cell if v.outcome is not None and (pair := verdict_lengths(v, lengths))]
    tally = Counter(v.outcome for v, _ in used)
    n = len(used)
    rate, low, high = math.nan, math.nan, math.nan
    if used:
        diff = np.array([a - b for _, (a, b) in used], dtype=np.float64)
        spread = float(diff.std())
        squashed = np.tanh(diff / spread) if spread > 0 else np.zeros_like(diff)
        scores = np.array([OUTCOME_SCORE[v.outcome] for v, _ in used if v.outcome is not None])
        point, samples = length_slope_fit(squashed, scores, [v.prompt_id for v, _ in used], n_boot, seed)
        rate = float(expit(point[0]))
        if samples.size:
            clusters = len({v.prompt_id for v, _ in used})
            low, high = rate_interval(rate, expit(samples[:, 0]), clusters, confidence)
    return WinRate(
        *key,
        group="all",
        n=n,
        wins=tally["a"],
        ties=tally["tie"],
        losses=tally["b"],
        unresolved=len(cell) - n,
        win_rate=rate,
        ci_low=low,
        ci_high=high,
        win_share=safe_share(tally["a"], n),
        tie_share=safe_share(tally["tie"], n),
        loss_share=safe_share(tally["b"], n),
    )
