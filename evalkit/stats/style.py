"""Style-controlled Bradley–Terry ratings, as Chatbot Arena and Arena-Hard v2 define style control.

Each verdict compares answers a and b; for every style feature f (length in characters,
markdown headers, bold spans, list items) the covariate is the normalized difference
(f_a - f_b) / (f_a + f_b) (0 when both are 0), divided by its root mean square over the
verdicts (scaled, not centred, so that zero still means "the same style"). The model is

    logit P(a beats b) = (beta_a - beta_b) + sum_f gamma_f * z_f

fitted by penalised maximum likelihood with ties counted as half a win each way. Ratings are
the beta on an Elo-like scale (``scale`` points per factor-10 odds, mean ``anchor_score``),
i.e. what each system would score if both answers had the same style. A coefficient's
effect in rating points is gamma_f * scale / ln 10: what one standard deviation of that
style difference is worth. Intervals are either a bootstrap over prompts (every verdict of
a prompt resampled together) or closed-form sandwich intervals clustered by prompt; the
result says which. ``rank_upper`` is Chatbot Arena's rank upper bound: 1 + the number of
systems whose interval lies wholly above this system's.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import expit
from scipy.stats import norm

from evalkit.records import Prompt, Response
from evalkit.stats.alpaca_eval import verdict_score
from evalkit.stats.common import (
    FloatArray,
    GroupBy,
    IntArray,
    bootstrap,
    cluster_index,
    draw_counts,
    group_label,
    percentile_interval,
)
from evalkit.stats.logistic import fit_logistic
from evalkit.stats.pairwise import Verdict

IntervalMethod = Literal["bootstrap", "sandwich"]
FEATURES = ("length", "headers", "bold", "lists")
_PATTERNS = {
    "headers": re.compile(r"^#{1,6}\s", re.M),
    "bold": re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__"),
    "lists": re.compile(r"^\s*(?:[-*+]|\d+[.)])\s", re.M),
}
RIDGE = 1e-3


def style_features(text: str) -> dict[str, float]:
    """Counts of each style feature in one answer: characters, headers, bold spans, list items."""
    counts = {name: float(len(pattern.findall(text))) for name, pattern in _PATTERNS.items()}
    return {"length": float(len(text)), **counts}


@dataclass(frozen=True, slots=True)
class StyleRating:
    """One system's style-controlled rating (Elo-like points) with its interval and ranks."""

    system: str
    score: float
    ci_low: float
    ci_high: float
    rank: int
    rank_upper: int
    n_comparisons: int


@dataclass(frozen=True, slots=True)
class StyleCoefficient:
    """One style feature's coefficient: logit per standard deviation, and its effect in points."""

    feature: str
    coefficient: float
    points: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True, slots=True)
class StyleControlled:
    """Style-controlled ratings and coefficients of one group, with the interval method used."""

    group: str
    source: str
    method: str
    ratings: tuple[StyleRating, ...]
    coefficients: tuple[StyleCoefficient, ...]
    n: int


def _covariates(verdicts: Sequence[Verdict], texts: Mapping[tuple[str, str, int], str]) -> FloatArray:
    """(verdicts, features) normalized differences, scaled by their root mean square."""
    cache: dict[tuple[str, str, int], list[float]] = {}

    def features(key: tuple[str, str, int]) -> list[float]:
        if key not in cache:
            found = style_features(texts.get(key, ""))
            cache[key] = [found[f] for f in FEATURES]
        return cache[key]

    a = np.array([features((v.prompt_id, v.model_a, v.response_sample)) for v in verdicts]).reshape(
        -1, len(FEATURES)
    )
    b = np.array([features((v.prompt_id, v.model_b, v.response_sample)) for v in verdicts]).reshape(
        -1, len(FEATURES)
    )
    total = a + b
    values = np.divide(a - b, total, out=np.zeros_like(total), where=total > 0)
    # scaled about zero, not centred: z = 0 must still mean "the same style", whatever the mix
    spread = np.sqrt((values**2).mean(axis=0))
    standardized: FloatArray = values / np.where(spread > 0, spread, 1.0)
    return standardized


def _design(verdicts: Sequence[Verdict], systems: Sequence[str], covariates: FloatArray) -> FloatArray:
    position = {name: i for i, name in enumerate(systems)}
    incidence = np.zeros((len(verdicts), len(systems)))
    rows = np.arange(len(verdicts))
    incidence[rows, [position[v.model_a] for v in verdicts]] += 1.0
    incidence[rows, [position[v.model_b] for v in verdicts]] -= 1.0
    return np.hstack([incidence, covariates])


def _sandwich(design: FloatArray, scores: FloatArray, beta: FloatArray, clusters: IntArray) -> FloatArray:
    """Cluster-robust covariance H^-1 (sum_c g_c g_c') H^-1 of the fitted coefficients."""
    prob = expit(design @ beta)
    ridge = np.full(beta.size, RIDGE)
    hessian = (design * (prob * (1 - prob))[:, None]).T @ design + np.diag(ridge)
    scores_per_item = design * (scores - prob)[:, None]
    per_cluster = np.zeros((int(clusters.max()) + 1, beta.size))
    np.add.at(per_cluster, clusters, scores_per_item)
    inverse = np.linalg.pinv(hessian)
    covariance: FloatArray = inverse @ (per_cluster.T @ per_cluster) @ inverse
    return covariance


def _to_points(strengths: FloatArray, scale: float, anchor_score: float) -> FloatArray:
    points = strengths * (scale / math.log(10.0))
    centred: FloatArray = points - points.mean(axis=-1, keepdims=True) + anchor_score
    return centred


def _intervals(
    design: FloatArray,
    scores: FloatArray,
    point: FloatArray,
    clusters: IntArray,
    method: IntervalMethod,
    settings: tuple[int, int, float, float],
) -> tuple[FloatArray, FloatArray]:
    """Low and high bounds per parameter: systems in points (mean zero), features in logits."""
    n_boot, seed, confidence, scale = settings
    n_systems = design.shape[1] - len(FEATURES)
    if method == "sandwich":
        covariance = _sandwich(design, scores, point, clusters)
        centring = np.eye(point.size)
        centring[:n_systems, :n_systems] -= 1.0 / n_systems  # ratings are relative to the mean
        spread = np.sqrt(np.diag(centring @ covariance @ centring.T))
        spread[:n_systems] *= scale / math.log(10.0)
        centre = np.concatenate([_to_points(point[:n_systems], scale, 0.0), point[n_systems:]])
        z = float(norm.ppf(0.5 + confidence / 2))
        return centre - z * spread, centre + z * spread
    n_clusters = int(clusters.max()) + 1
    ridge = np.full(point.size, RIDGE)

    def refit(draws: IntArray) -> FloatArray:
        weights = draw_counts(draws, n_clusters)[:, clusters]
        return fit_logistic(design, weights * scores, weights, ridge, point)

    samples = bootstrap(n_clusters, n_boot, seed, refit)
    samples[:, :n_systems] = _to_points(samples[:, :n_systems], scale, 0.0)
    bounds = np.array([percentile_interval(samples[:, j], confidence) for j in range(point.size)])
    return bounds[:, 0], bounds[:, 1]


def _fit_group(
    group: str,
    source: str,
    verdicts: Sequence[Verdict],
    texts: Mapping[tuple[str, str, int], str],
    method: IntervalMethod,
    settings: tuple[int, int, float, float],
    anchor_score: float,
) -> StyleControlled:
    systems = tuple(dict.fromkeys(name for v in verdicts for name in (v.model_a, v.model_b)))
    design = _design(verdicts, systems, _covariates(verdicts, texts))
    scores = np.array([verdict_score(v) for v in verdicts])
    point = fit_logistic(design, scores[None], np.ones((1, scores.size)), np.full(design.shape[1], RIDGE))[0]
    clusters, _ = cluster_index([v.prompt_id for v in verdicts])
    low, high = _intervals(design, scores, point, clusters, method, settings)
    scale = settings[3]
    n_systems = len(systems)
    ratings = _ratings(
        systems, _to_points(point[:n_systems], scale, anchor_score), low, high, verdicts, anchor_score
    )
    per_point = scale / math.log(10.0)
    coefficients = tuple(
        StyleCoefficient(
            f,
            float(point[n_systems + i]),
            float(point[n_systems + i] * per_point),
            float(low[n_systems + i] * per_point),
            float(high[n_systems + i] * per_point),
        )
        for i, f in enumerate(FEATURES)
    )
    label = "bootstrap over prompts" if method == "bootstrap" else "sandwich, clustered by prompt"
    return StyleControlled(group, source, label, ratings, coefficients, len(verdicts))


def _ratings(
    systems: Sequence[str],
    scores: FloatArray,
    low: FloatArray,
    high: FloatArray,
    verdicts: Sequence[Verdict],
    anchor_score: float,
) -> tuple[StyleRating, ...]:
    lows, highs = low[: len(systems)] + anchor_score, high[: len(systems)] + anchor_score
    counts = Counter(name for v in verdicts for name in (v.model_a, v.model_b))
    found = [
        StyleRating(
            system,
            float(scores[i]),
            float(lows[i]),
            float(highs[i]),
            rank=1 + int(np.count_nonzero(scores > scores[i])),
            rank_upper=1 + int(np.count_nonzero(lows > highs[i])),
            n_comparisons=counts[system],
        )
        for i, system in enumerate(systems)
    ]
    return tuple(sorted(found, key=lambda r: (r.rank, r.system)))


def style_controlled_ratings(
    verdicts: Sequence[Verdict],
    responses: Sequence[Response],
    prompts: Mapping[str, Prompt] | None = None,
    *,
    by: GroupBy = "all",
    method: IntervalMethod = "sandwich",
    n_boot: int = 200,
    seed: int = 0,
    confidence: float = 0.95,
    scale: float = 400.0,
    anchor_score: float = 1000.0,
) -> list[StyleControlled]:
    """Style-controlled Bradley–Terry ratings per judge source and group (see the module docstring).

    Args:
        verdicts: Reconciled verdicts; unresolved ones are ignored.
        responses: The answers compared, for their style features.
        prompts: Prompt id -> Prompt, needed to group by split or category.
        by: "all", "split" or "category".
        method: "sandwich" (closed form, clustered by prompt) or "bootstrap" (over prompts; each
            replicate refits every verdict, so it costs far more on large data).
        n_boot: Bootstrap replicates (bootstrap method only).
        seed: Bootstrap seed.
        confidence: Interval coverage.
        scale: Rating points per factor-10 odds.
        anchor_score: Mean rating.

    Returns:
        One result per (source, group) with at least two systems.

    """
    texts = {r.key: "\n".join(r.outputs) for r in responses if r.error is None}
    cells: dict[tuple[str, str], list[Verdict]] = {}
    for v in verdicts:
        if v.outcome is not None and v.model_a != v.model_b:  # a self-comparison says nothing
            cells.setdefault((v.source, group_label(v.prompt_id, prompts or {}, by)), []).append(v)
    settings = (n_boot, seed, confidence, scale)
    return [
        _fit_group(group, source, cell, texts, method, settings, anchor_score)
        for (source, group), cell in sorted(cells.items())
        if len({name for v in cell for name in (v.model_a, v.model_b)}) >= 2
    ]
