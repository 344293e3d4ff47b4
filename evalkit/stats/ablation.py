"""Ablations: one score per system, against what distinguishes the systems (their attributes).

Systems carry attributes (``examples: 1000``, ``source: web``). Each system gets a score (a
Likert mean, an excellent rate or a win rate against a fixed baseline) with an interval; a
numeric attribute gets a least-squares trend of score on the attribute (on a log10 axis for
sizes spanning a factor of 10 or more), a categorical one the mean score of each value. All
systems answer the same prompts, so one bootstrap resamples prompts for every system at once:
a prompt that is hard for every system moves every score together and drops out of the trend.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from evalkit.records import Grade
from evalkit.stats.common import (
    OUTCOME_SCORE,
    FloatArray,
    IntArray,
    bootstrap,
    check_confidence,
    identity_draws,
    percentile_interval,
)
from evalkit.stats.pairwise import Verdict

Attribute = str | int | float | bool
LOG_AXIS_SPAN = 10.0
"""A positive numeric attribute spanning at least this factor is put on a log10 axis."""


@dataclass(frozen=True, slots=True)
class ScoreMatrix:
    """Per-prompt scores: ``values[p, s]`` is system s's score on prompt p (nan: none)."""

    name: str
    prompts: tuple[str, ...]
    systems: tuple[str, ...]
    values: FloatArray


@dataclass(frozen=True, slots=True)
class SystemPoint:
    """One system's score with its interval."""

    system: str
    score: float
    ci: tuple[float, float]
    prompts: int


@dataclass(frozen=True, slots=True)
class Trend:
    """Least-squares score = intercept + slope * x over the systems that carry a numeric attribute.

    ``x`` is the attribute, or its log10 when ``log_axis``; the slope is then per tenfold.
    ``band`` gives the fitted line's interval at each of ``grid`` (in attribute units).
    ``condition`` ("quality=good") names the systems fitted when a categorical attribute
    varies too: those with that value, and those without the attribute (a zero-data system).
    """

    attribute: str
    condition: str
    log_axis: bool
    systems: tuple[str, ...]
    values: tuple[float, ...]
    slope: float
    slope_ci: tuple[float, float]
    intercept: float
    grid: tuple[float, ...]
    fitted: tuple[float, ...]
    band: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class CategoryMean:
    """The mean score of the systems sharing one value of a categorical attribute."""

    attribute: str
    value: str
    systems: tuple[str, ...]
    score: float
    ci: tuple[float, float]


@dataclass(frozen=True, slots=True)
class Ablation:
    """Scores, trends and category means for one score matrix."""

    score: str
    points: tuple[SystemPoint, ...]
    trends: tuple[Trend, ...]
    categories: tuple[CategoryMean, ...]


def likert_matrix(grades: Sequence[Grade], scale: str, source: str) -> ScoreMatrix:
    """Mean numeric grade per (prompt, system) on one scale from one source."""
    pairs = [((g.prompt_id, g.system), g.score) for g in grades if _usable(g, scale, source)]
    return _matrix(f"mean {scale} ({source})", [(key, float(s)) for key, s in pairs if s is not None])


def excellent_matrix(
    grades: Sequence[Grade], scale: str, source: str, label: str = "excellent"
) -> ScoreMatrix:
    """Share of grades with ``label`` per (prompt, system) on one scale from one source."""
    pairs = [((g.prompt_id, g.system), float(g.label == label)) for g in grades if _usable(g, scale, source)]
    return _matrix(f"{label} rate, {scale} ({source})", pairs)


def win_rate_matrix(verdicts: Sequence[Verdict], baseline: str, source: str) -> ScoreMatrix:
    """Each system's mean win score against ``baseline`` per prompt (a tie counts a half)."""
    pairs = []
    for v in verdicts:
        if v.source != source or v.outcome is None or baseline not in (v.model_a, v.model_b):
            continue
        score = OUTCOME_SCORE[v.outcome]
        system, own = (v.model_a, score) if v.model_b == baseline else (v.model_b, 1.0 - score)
        pairs.append(((v.prompt_id, system), own))
    return _matrix(f"win rate vs {baseline} ({source})", pairs)


def _usable(grade: Grade, scale: str, source: str) -> bool:
    return grade.parsed and grade.turn is None and grade.scale == scale and grade.source == source


def _matrix(name: str, pairs: Sequence[tuple[tuple[str, str], float]]) -> ScoreMatrix:
    prompts = tuple(dict.fromkeys(key[0] for key, _ in pairs))
    systems = tuple(dict.fromkeys(key[1] for key, _ in pairs))
    sums = np.zeros((len(prompts), len(systems)))
    counts = np.zeros_like(sums)
    row, column = {p: i for i, p in enumerate(prompts)}, {s: i for i, s in enumerate(systems)}
    for (prompt, system), value in pairs:
        sums[row[prompt], column[system]] += value
        counts[row[prompt], column[system]] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return ScoreMatrix(name, prompts, systems, np.where(counts > 0, sums / counts, np.nan))


def ablation(
    matrix: ScoreMatrix,
    attributes: Mapping[str, Mapping[str, Attribute]],
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Ablation:
    """Scores with intervals, a trend per varying numeric attribute, means per categorical value.

    Args:
        matrix: Per-prompt scores of each system.
        attributes: System name -> its attributes (systems without scores are ignored).
        n_boot: Bootstrap replicates (prompts resampled, the same draws for every system).
        confidence: Interval coverage.
        seed: Bootstrap seed.

    """
    check_confidence(confidence)
    n_prompts = len(matrix.prompts)

    def means(draws: IntArray) -> FloatArray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a system with no prompt drawn: nan
            found: FloatArray = np.nanmean(matrix.values[draws], axis=1)
            return found

    point = means(identity_draws(n_prompts))[0] if n_prompts else np.full(len(matrix.systems), np.nan)
    replicates = (
        bootstrap(n_prompts, n_boot, seed, means) if n_prompts else np.empty((0, len(matrix.systems)))
    )
    counts = np.isfinite(matrix.values).sum(axis=0)
    points = tuple(
        SystemPoint(s, float(point[i]), _interval(replicates[:, i], confidence), int(counts[i]))
        for i, s in enumerate(matrix.systems)
    )
    numeric, categorical = varying_attributes(attributes, matrix.systems)
    conditions = _conditions(attributes, matrix.systems, categorical)
    trends = tuple(
        _trend(matrix, attributes, (name, condition, members), point, replicates, confidence)
        for name in numeric
        for condition, members in conditions
    )
    groups = tuple(
        g
        for name in categorical
        for g in _categories(matrix, attributes, name, point, replicates, confidence)
    )
    return Ablation(matrix.name, points, tuple(t for t in trends if t is not None), groups)


def varying_attributes(
    attributes: Mapping[str, Mapping[str, Attribute]], systems: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Attribute names with two or more distinct values among ``systems``: (numeric, categorical)."""
    values: dict[str, set[Attribute]] = {}
    for system in systems:
        for name, value in attributes.get(system, {}).items():
            values.setdefault(name, set()).add(value)
    varying = [name for name, seen in values.items() if len(seen) > 1]
    numeric = [n for n in varying if all(_is_number(v) for v in values[n])]
    return numeric, [n for n in varying if n not in numeric]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _interval(samples: FloatArray, confidence: float) -> tuple[float, float]:
    return percentile_interval(samples, confidence) if samples.size else (math.nan, math.nan)


def _conditions(
    attributes: Mapping[str, Mapping[str, Attribute]], systems: Sequence[str], categorical: Sequence[str]
) -> list[tuple[str, frozenset[str]]]:
    """The system subsets a numeric trend is fitted on: all systems, or one per categorical value."""
    if not categorical:
        return [("", frozenset(systems))]
    subsets = []
    for name in categorical:
        values = sorted({str(attributes[s][name]) for s in systems if name in attributes.get(s, {})})
        for value in values:
            members = frozenset(s for s in systems if str(attributes.get(s, {}).get(name, value)) == value)
            subsets.append((f"{name}={value}", members))
    return subsets


def _trend(
    matrix: ScoreMatrix,
    attributes: Mapping[str, Mapping[str, Attribute]],
    subset: tuple[str, str, frozenset[str]],
    point: FloatArray,
    replicates: FloatArray,
    confidence: float,
) -> Trend | None:
    name, condition, members = subset
    columns = [
        i
        for i, s in enumerate(matrix.systems)
        if s in members and _is_number(attributes.get(s, {}).get(name))
    ]
    raw = np.asarray([float(attributes[matrix.systems[i]][name]) for i in columns])
    if len(set(raw.tolist())) < 2:
        return None
    log_axis = bool(raw.min() > 0 and raw.max() / raw.min() >= LOG_AXIS_SPAN)
    x = np.log10(raw) if log_axis else raw
    fits = fit_lines(x, np.vstack([point[columns], replicates[:, columns]]))
    slope, intercept = fits[0]
    grid = np.linspace(x.min(), x.max(), 25)
    lines = fits[1:, 1][:, None] + fits[1:, 0][:, None] * grid[None, :]
    return Trend(
        attribute=name,
        condition=condition,
        log_axis=log_axis,
        systems=tuple(matrix.systems[i] for i in columns),
        values=tuple(raw.tolist()),
        slope=float(slope),
        slope_ci=_interval(fits[1:, 0], confidence),
        intercept=float(intercept),
        grid=tuple((10**grid if log_axis else grid).tolist()),
        fitted=tuple((intercept + slope * grid).tolist()),
        band=tuple(_interval(lines[:, j], confidence) for j in range(grid.size)),
    )


def fit_lines(x: FloatArray, scores: FloatArray) -> FloatArray:
    """Least-squares (slope, intercept) of each row of ``scores`` on ``x``; nan scores are skipped."""
    weight = np.isfinite(scores)
    y = np.where(weight, scores, 0.0)
    n = weight.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        x_mean = (weight * x).sum(axis=1) / n
        y_mean = y.sum(axis=1) / n
        dx = np.where(weight, x[None, :] - x_mean[:, None], 0.0)
        slope = (dx * (y - y_mean[:, None]) * weight).sum(axis=1) / (dx**2).sum(axis=1)
    return np.stack([slope, y_mean - slope * x_mean], axis=1)


def _categories(
    matrix: ScoreMatrix,
    attributes: Mapping[str, Mapping[str, Attribute]],
    name: str,
    point: FloatArray,
    replicates: FloatArray,
    confidence: float,
) -> list[CategoryMean]:
    by_value: dict[str, list[int]] = {}
    for i, system in enumerate(matrix.systems):
        if name in attributes.get(system, {}):
            by_value.setdefault(str(attributes[system][name]), []).append(i)
    return [
        CategoryMean(
            attribute=name,
            value=value,
            systems=tuple(matrix.systems[i] for i in columns),
            score=float(np.mean(point[columns])),
            ci=_interval(replicates[:, columns].mean(axis=1), confidence),
        )
        for value, columns in sorted(by_value.items())
    ]
