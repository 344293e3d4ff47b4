"""Ablation statistics on synthetic runs with known slopes and intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evalkit.records import Grade
from evalkit.stats.ablation import (
    ScoreMatrix,
    ablation,
    excellent_matrix,
    likert_matrix,
    varying_attributes,
    win_rate_matrix,
)
from evalkit.stats.pairwise import Verdict


def matrix(columns: dict[str, list[float]]) -> ScoreMatrix:
    systems = tuple(columns)
    values = np.column_stack([columns[s] for s in systems]).astype(float)
    return ScoreMatrix("score", tuple(f"p{i}" for i in range(values.shape[0])), systems, values)


def test_exact_linear_effect_is_recovered_with_a_zero_width_interval() -> None:
    # score = 2 + 0.5 * examples + a prompt effect shared by every system: the paired
    # bootstrap moves all systems together, so the slope never changes.
    rng = np.random.default_rng(1)
    prompt_effect = rng.normal(0, 1, size=40)
    sizes = {"s0": 0, "s1": 1, "s3": 3, "s6": 6}
    result = ablation(
        matrix({s: list(2 + 0.5 * x + prompt_effect) for s, x in sizes.items()}),
        {s: {"examples": x} for s, x in sizes.items()},
        n_boot=300,
    )
    [trend] = result.trends
    assert not trend.log_axis
    assert trend.slope == pytest.approx(0.5)
    assert trend.slope_ci == pytest.approx((0.5, 0.5))
    assert trend.intercept == pytest.approx(2 + prompt_effect.mean())


def test_sizes_spanning_decades_are_fitted_on_a_log_axis() -> None:
    sizes = {"a": 10, "b": 100, "c": 1000, "d": 10000}
    result = ablation(
        matrix({s: [1 + 0.25 * math.log10(x)] * 5 for s, x in sizes.items()}),
        {s: {"examples": x} for s, x in sizes.items()},
        n_boot=200,
    )
    [trend] = result.trends
    assert trend.log_axis
    assert trend.slope == pytest.approx(0.25)  # per tenfold
    assert trend.grid[0] == pytest.approx(10) and trend.grid[-1] == pytest.approx(10000)
    assert trend.fitted[-1] == pytest.approx(2.0)


def test_system_interval_matches_the_normal_closed_form() -> None:
    # 400 prompts, half scored 1 and half 0: 95% interval about 0.5 +- 1.96 * sqrt(0.25 / 400).
    result = ablation(matrix({"s": [1.0, 0.0] * 200}), {}, n_boot=4000, seed=3)
    [point] = result.points
    half_width = 1.96 * math.sqrt(0.25 / 400)
    assert point.score == 0.5 and point.prompts == 400
    assert point.ci[0] == pytest.approx(0.5 - half_width, abs=0.008)
    assert point.ci[1] == pytest.approx(0.5 + half_width, abs=0.008)


def test_two_point_slope_is_the_paired_difference_with_its_closed_form_interval() -> None:
    rng = np.random.default_rng(7)
    base = rng.normal(3, 1, size=300)
    better = base + rng.normal(0.4, 0.5, size=300)
    result = ablation(
        matrix({"small": list(base), "large": list(better)}),
        {"small": {"size": 1}, "large": {"size": 2}},
        n_boot=4000,
        seed=5,
    )
    [trend] = result.trends
    difference = better - base
    assert trend.slope == pytest.approx(difference.mean())
    half_width = 1.96 * difference.std(ddof=1) / math.sqrt(300)
    assert trend.slope_ci[0] == pytest.approx(difference.mean() - half_width, abs=0.015)
    assert trend.slope_ci[1] == pytest.approx(difference.mean() + half_width, abs=0.015)


def test_categorical_attribute_groups_systems_by_value() -> None:
    result = ablation(
        matrix({"good3": [5.0] * 4, "good6": [6.0] * 4, "careless3": [2.0] * 4}),
        {
            "good3": {"quality": "good", "examples": 3},
            "good6": {"quality": "good", "examples": 6},
            "careless3": {"quality": "careless", "examples": 3},
        },
        n_boot=200,
    )
    groups = {g.value: g for g in result.categories}
    assert groups["good"].score == 5.5 and groups["good"].systems == ("good3", "good6")
    assert groups["careless"].score == 2.0 and groups["careless"].ci == pytest.approx((2.0, 2.0))
    # Quantity is fitted within a quality: one careless system alone makes no trend.
    [trend] = result.trends
    assert (trend.attribute, trend.condition, trend.systems) == (
        "examples",
        "quality=good",
        ("good3", "good6"),
    )
    assert trend.slope == pytest.approx(1 / 3)


def test_a_system_without_the_categorical_attribute_joins_every_trend() -> None:
    # Zero examples has no quality: it anchors both the well-styled and the careless trend.
    result = ablation(
        matrix({"zero": [1.0] * 3, "good": [4.0] * 3, "careless": [2.0] * 3}),
        {"zero": {"n": 0}, "good": {"n": 3, "quality": "good"}, "careless": {"n": 3, "quality": "careless"}},
        n_boot=100,
    )
    slopes = {t.condition: t.slope for t in result.trends}
    assert slopes == pytest.approx({"quality=careless": 1 / 3, "quality=good": 1.0})


def test_only_varying_attributes_are_analysed() -> None:
    attributes = {"a": {"n": 1, "src": "web", "same": 3}, "b": {"n": 2, "src": "web", "same": 3}}
    assert varying_attributes(attributes, ["a", "b"]) == (["n"], [])


def grade(prompt: str, system: str, label: str, score: float) -> Grade:
    return Grade(prompt_id=prompt, system=system, scale="s", source="llm:j", label=label, score=score)


def test_score_matrices_from_grades_and_verdicts() -> None:
    grades = [grade("p1", "a", "excellent", 3), grade("p1", "a", "pass", 2), grade("p2", "b", "fail", 1)]
    likert = likert_matrix(grades, "s", "llm:j")
    assert likert.values[0, 0] == 2.5 and math.isnan(likert.values[0, 1])
    assert excellent_matrix(grades, "s", "llm:j").values[0, 0] == 0.5
    verdicts = [
        Verdict("p1", "x", "base", "llm:j", 0, "a", 2, False, False, None),
        Verdict("p1", "base", "y", "llm:j", 0, "a", 2, False, False, None),
        Verdict("p2", "x", "base", "llm:j", 0, "tie", 2, False, False, None),
    ]
    wins = win_rate_matrix(verdicts, "base", "llm:j")
    assert wins.systems == ("x", "y")
    assert wins.values[0].tolist() == [1.0, 0.0] and wins.values[1, 0] == 0.5
