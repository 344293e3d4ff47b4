"""Length-controlled win rate as AlpacaEval defines it (its GLM), fitted by evalkit's own code.

For one candidate against the baseline, a logistic model of the candidate's soft preference
y (its probability of being better; 1 / 0.5 / 0 for hard verdicts) on each instruction p:

    logit P(y) = theta + phi * tanh(d_p / sd(d)) + psi * difficulty_p

with d_p the candidate's length minus the baseline's in characters. The length-controlled
win rate is the model's prediction with the length term removed, averaged over the
instructions: 100 x mean_p sigmoid(theta + psi * difficulty_p). Like AlpacaEval:

* the fit has an L2 penalty whose strength is chosen by 5-fold cross-validation over
  instructions (here by held-out soft log-loss, from ``RIDGE_GRID``);
* where length-gamed versions of the baseline were judged against it (systems named
  ``<baseline>_concise`` / ``<baseline>_verbose``, or passed as ``gamed``), their rows join
  every fit with weight ``GAMED_WEIGHT`` each and without the candidate's intercept, pulling
  the length slope toward what the baseline itself gains or loses by length alone;
* ``standard_error`` is AlpacaEval's ``lc_standard_error``: 100 x the standard error of the
  per-instruction predictions. A prompt-resampled bootstrap interval of the rate is given too;
* a self-comparison is exactly 50.

Instruction difficulty comes from ``difficulty`` when given, else it is estimated from all
candidates compared with the same baseline (``estimate_instruction_difficulty``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit

from evalkit.records import Response
from evalkit.stats.common import (
    FloatArray,
    IntArray,
    bootstrap,
    cluster_index,
    draw_counts,
    percentile_interval,
)
from evalkit.stats.difficulty import SoftRows, estimate_instruction_difficulty, soft_rows
from evalkit.stats.lengths import response_lengths
from evalkit.stats.logistic import fit_logistic
from evalkit.stats.pairwise import Verdict

RIDGE_GRID = tuple(float(x) for x in np.logspace(-4, 4, 9))
"""Candidate L2 precisions (1 / C in scikit-learn's terms) for the cross-validation."""
GAMED_WEIGHT = 0.2
"""Weight of each gamed-baseline row relative to a candidate row (AlpacaEval's lambda)."""
GAMED_SUFFIXES = ("_concise", "_verbose")
EXTREME_POINTS = 10.0
EXTREME_ODDS = 4.0
COEFFICIENTS = ("intercept", "length", "difficulty")


@dataclass(frozen=True, slots=True)
class LengthControlled:
    """One candidate's length-controlled win rate against the baseline (rates in percent).

    ``extreme`` flags a correction of more than ``EXTREME_POINTS`` points or an odds ratio
    beyond ``EXTREME_ODDS`` either way: the rate then rests on the model's extrapolation.
    """

    model: str
    baseline: str
    source: str
    win_rate: float
    standard_error: float
    ci_low: float
    ci_high: float
    raw_win_rate: float
    n: int
    coefficients: dict[str, float] = field(default_factory=dict)
    ridge: float = math.nan
    difficulty: str = ""
    extreme: bool = False


def _odds(percent: float) -> float:
    p = min(max(percent / 100, 1e-6), 1 - 1e-6)
    return p / (1 - p)


def is_extreme(raw: float, controlled: float) -> bool:
    """True when the correction moves the rate (percent) by a lot, in points or in odds."""
    if math.isnan(raw) or math.isnan(controlled):
        return False
    odds_ratio = _odds(controlled) / _odds(raw)
    return abs(controlled - raw) > EXTREME_POINTS or not 1 / EXTREME_ODDS <= odds_ratio <= EXTREME_ODDS


def _design(rows: SoftRows, difficulty: Mapping[str, float], candidate: float) -> FloatArray:
    values = np.array([difficulty.get(p, 0.0) for p in rows.prompt_ids])
    return np.column_stack([np.full(values.size, candidate), rows.length, values])


def _cross_validated_ridge(
    design: FloatArray, scores: FloatArray, weights: FloatArray, folds: IntArray
) -> float:
    """The grid precision with the smallest held-out soft log-loss over the folds."""
    n_folds = int(folds.max()) + 1
    train = np.stack([weights * (folds != f) for f in range(n_folds)])
    losses = []
    for ridge in RIDGE_GRID:
        beta = fit_logistic(design, train * scores, train, np.full(design.shape[1], ridge))
        prob = np.clip(expit(beta @ design.T), 1e-12, 1 - 1e-12)
        held = weights * (folds[None, :] == np.arange(n_folds)[:, None])
        losses.append(-(held * (scores * np.log(prob) + (1 - scores) * np.log1p(-prob))).sum())
    return RIDGE_GRID[int(np.argmin(losses))]


def _fold_of(prompt_ids: Sequence[str], n_folds: int = 5, seed: int = 0) -> IntArray:
    index, n_prompts = cluster_index(list(prompt_ids))
    assignment = np.random.default_rng(seed).permutation(n_prompts) % n_folds
    folds: IntArray = assignment[index]
    return folds


def _fit(
    own: SoftRows, gamed: Sequence[SoftRows], difficulty: Mapping[str, float], n_boot: int, seed: int
) -> tuple[FloatArray, float, FloatArray, FloatArray]:
    """Point coefficients, ridge, the test design (own rows, length zeroed) and bootstrap rates."""
    parts = [_design(own, difficulty, 1.0), *(_design(g, difficulty, 0.0) for g in gamed)]
    design = np.concatenate(parts)
    scores = np.concatenate([own.scores, *(g.scores for g in gamed)])
    weights = np.concatenate(
        [np.ones(own.scores.size), *(np.full(g.scores.size, GAMED_WEIGHT) for g in gamed)]
    )
    ids = [*own.prompt_ids, *(p for g in gamed for p in g.prompt_ids)]
    ridge = _cross_validated_ridge(design, scores, weights, _fold_of(ids, seed=seed))
    penalty = np.full(design.shape[1], ridge)
    point = fit_logistic(design, (weights * scores)[None], weights[None], penalty)
    test = _design(own, difficulty, 1.0)
    test[:, 1] = 0.0
    index, n_prompts = cluster_index(ids)

    def refit(draws: IntArray) -> FloatArray:
        counts = draw_counts(draws, n_prompts)[:, index] * weights
        beta = fit_logistic(design, counts * scores, counts, penalty, point[0])
        own_counts = counts[:, : own.scores.size]
        rates: FloatArray = (own_counts * expit(beta @ test.T)).sum(1) / own_counts.sum(1)
        return rates

    return point[0], ridge, test, bootstrap(n_prompts, n_boot, seed, refit)


def gamed_baselines(baseline: str, systems: Sequence[str]) -> list[str]:
    """Systems named as length-gamed versions of the baseline (``<baseline>_concise`` / ``_verbose``)."""
    return [s for s in systems if s in {baseline + suffix for suffix in GAMED_SUFFIXES}]


def alpaca_eval_length_controlled(
    verdicts: Sequence[Verdict],
    responses: Sequence[Response],
    *,
    difficulty: Mapping[str, float] | None = None,
    gamed: Sequence[str] | None = None,
    n_boot: int = 200,
    seed: int = 0,
    confidence: float = 0.95,
) -> list[LengthControlled]:
    """AlpacaEval's length-controlled win rate of every candidate against its baseline, per source.

    Each source's baseline is the most common model_b of its verdicts; candidates are the
    model_a compared with it. See the module docstring for the model.

    Args:
        verdicts: Reconciled verdicts (model_a = candidate, model_b = baseline).
        responses: The responses compared, for their lengths.
        difficulty: Prompt id -> instruction difficulty; estimated from the candidates when None.
        gamed: Gamed versions of the baseline; by default systems named ``<baseline>_concise``
            or ``<baseline>_verbose`` that were compared with it.
        n_boot: Bootstrap replicates for the interval (0: nan interval).
        seed: Seed of the folds and the bootstrap.
        confidence: Interval coverage.

    Returns:
        One row per (candidate, baseline, source), in first-appearance order.

    """
    by_source: dict[str, list[Verdict]] = {}
    for verdict in verdicts:
        by_source.setdefault(verdict.source, []).append(verdict)
    lengths = response_lengths(responses)
    results: list[LengthControlled] = []
    for source, group in by_source.items():
        baseline = max(set(v.model_b for v in group), key=[v.model_b for v in group].count)
        cells: dict[str, list[Verdict]] = {}
        for v in group:
            if v.model_b == baseline:
                cells.setdefault(v.model_a, []).append(v)
        chosen = gamed if gamed is not None else gamed_baselines(baseline, list(cells))
        gamed_rows = [soft_rows(cells[g], lengths) for g in chosen if g in cells]
        for model, cell in cells.items():
            known, label = _difficulty_for(model, baseline, group, responses, difficulty)
            context = _Context(model, baseline, source, known, label, n_boot, seed, confidence)
            results.append(_one(soft_rows(cell, lengths), gamed_rows if model not in chosen else [], context))
    return results


def _difficulty_for(
    model: str,
    baseline: str,
    group: Sequence[Verdict],
    responses: Sequence[Response],
    given: Mapping[str, float] | None,
) -> tuple[Mapping[str, float], str]:
    """The difficulty a candidate's fit uses, and how it was obtained.

    Estimated values leave the candidate's own verdicts out, so that its own outcomes cannot
    pass for instruction difficulty (with few systems that would absorb its real wins).
    """
    if given is not None:
        return given, "given"
    if model == baseline:
        return {}, "none"
    others = [v for v in group if v.model_a != model]
    n_others = len({v.model_a for v in others if v.model_a != baseline})
    if n_others == 0:
        return {}, "none (no other system compared with the baseline)"
    return estimate_instruction_difficulty(
        others, responses, baseline
    ), f"estimated from {n_others} other systems"


@dataclass(frozen=True, slots=True)
class _Context:
    model: str
    baseline: str
    source: str
    difficulty: Mapping[str, float]
    label: str
    n_boot: int
    seed: int
    confidence: float


def _one(rows: SoftRows, gamed: Sequence[SoftRows], ctx: _Context) -> LengthControlled:
    raw = float(rows.scores.mean()) * 100 if rows.scores.size else math.nan
    n = int(rows.scores.size)
    if ctx.model == ctx.baseline or n < 2:
        value = 50.0 if ctx.model == ctx.baseline else math.nan  # a self-comparison is even by definition
        return LengthControlled(
            ctx.model,
            ctx.baseline,
            ctx.source,
            value,
            0.0 if value == 50.0 else math.nan,
            value,
            value,
            raw,
            n,
            coefficients=dict.fromkeys(COEFFICIENTS, 0.0),
            difficulty=ctx.label,
        )
    beta, ridge, test, samples = _fit(rows, gamed, ctx.difficulty, ctx.n_boot, ctx.seed)
    predictions = expit(test @ beta)
    rate = float(predictions.mean()) * 100
    low, high = percentile_interval(samples * 100, ctx.confidence) if samples.size else (math.nan, math.nan)
    standard_error = float(predictions.std(ddof=1) / math.sqrt(predictions.size)) * 100
    return LengthControlled(
        ctx.model,
        ctx.baseline,
        ctx.source,
        rate,
        standard_error,
        low,
        high,
        raw,
        n,
        coefficients=dict(zip(COEFFICIENTS, map(float, beta), strict=True)),
        ridge=ridge,
        difficulty=ctx.label,
        extreme=is_extreme(raw, rate),
    )
