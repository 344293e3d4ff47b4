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
  per-instruction predictions. An interval of the rate is given too: by the delta method on
  the prompt-clustered sandwich covariance (default), or by a bootstrap over prompts;
* a self-comparison is exactly 50.

Instruction difficulty comes from ``difficulty`` when given, else it is estimated from all
candidates compared with the same baseline (``estimate_instruction_difficulty``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from scipy.special import expit

from evalkit.records import Response
from evalkit.stats.alpaca_lc_fit import bootstrap_rates, fit_length_model, sandwich_interval
from evalkit.stats.common import percentile_interval
from evalkit.stats.difficulty import DifficultyModel, SoftRows, soft_rows
from evalkit.stats.lengths import response_lengths
from evalkit.stats.pairwise import Verdict

GAMED_SUFFIXES = ("_concise", "_verbose")
EXTREME_POINTS = 10.0
EXTREME_ODDS = 4.0
COEFFICIENTS = ("intercept", "length", "difficulty")
LcInterval = Literal["sandwich", "bootstrap"]


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
    interval: str = ""


def _odds(percent: float) -> float:
    p = min(max(percent / 100, 1e-6), 1 - 1e-6)
    return p / (1 - p)


def is_extreme(raw: float, controlled: float) -> bool:
    """True when the correction moves the rate (percent) by a lot, in points or in odds."""
    if math.isnan(raw) or math.isnan(controlled):
        return False
    odds_ratio = _odds(controlled) / _odds(raw)
    return abs(controlled - raw) > EXTREME_POINTS or not 1 / EXTREME_ODDS <= odds_ratio <= EXTREME_ODDS


def gamed_baselines(baseline: str, systems: Sequence[str]) -> list[str]:
    """Systems named as length-gamed versions of the baseline (``<baseline>_concise`` / ``_verbose``)."""
    return [s for s in systems if s in {baseline + suffix for suffix in GAMED_SUFFIXES}]


def alpaca_eval_length_controlled(
    verdicts: Sequence[Verdict],
    responses: Sequence[Response],
    *,
    difficulty: Mapping[str, float] | None = None,
    gamed: Sequence[str] | None = None,
    interval: LcInterval = "sandwich",
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
        interval: "sandwich" (delta method on the prompt-clustered sandwich covariance) or
            "bootstrap" (prompts resampled, the model refitted per replicate).
        n_boot: Bootstrap replicates (bootstrap interval only; 0 gives a nan interval).
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
        rows = {model: soft_rows(cell, lengths) for model, cell in cells.items()}
        gamed_rows = [rows[g] for g in chosen if g in rows]
        joint = None
        if difficulty is None:
            candidates = {m: r for m, r in rows.items() if m != baseline and r.scores.size}
            joint = DifficultyModel(list(candidates), list(candidates.values()))
        for model in cells:
            known, label = _difficulty_for(model, baseline, joint, difficulty)
            context = _Context(model, baseline, source, known, label, interval, n_boot, seed, confidence)
            results.append(_one(rows[model], gamed_rows if model not in chosen else [], context))
    return results


def _difficulty_for(
    model: str, baseline: str, joint: DifficultyModel | None, given: Mapping[str, float] | None
) -> tuple[Mapping[str, float], str]:
    """The difficulty a candidate's fit uses, and how it was obtained.

    Estimated values leave the candidate's own verdicts out, so that its own outcomes cannot
    pass for instruction difficulty (with few systems that would absorb its real wins).
    """
    if given is not None:
        return given, "given"
    if model == baseline or joint is None:
        return {}, "none"
    n_others = sum(1 for name in joint.systems if name != model)
    if n_others == 0:
        return {}, "none (no other system compared with the baseline)"
    return joint.difficulty(leave_out=model), f"estimated from {n_others} other systems"


@dataclass(frozen=True, slots=True)
class _Context:
    model: str
    baseline: str
    source: str
    difficulty: Mapping[str, float]
    label: str
    interval: LcInterval
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
    fit = fit_length_model(rows, gamed, ctx.difficulty, ctx.seed)
    beta, ridge = fit.beta, fit.ridge
    predictions = expit(fit.test @ beta)
    rate = float(predictions.mean()) * 100
    if ctx.interval == "sandwich":
        low, high = (100 * bound for bound in sandwich_interval(fit, ctx.confidence))
    else:
        samples = bootstrap_rates(fit, ctx.n_boot, ctx.seed) * 100
        low, high = percentile_interval(samples, ctx.confidence) if samples.size else (math.nan, math.nan)
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
        interval="sandwich, clustered by prompt" if ctx.interval == "sandwich" else "bootstrap over prompts",
    )
