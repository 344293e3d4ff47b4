import math

import pytest

from evalkit.stats import grade_distributions, to_frame
from tests.stats_helpers import grade, prompt

SCORES = {"fail": 0.0, "pass": 1.0, "excellent": 2.0}


def _lima(labels: str, system: str = "A", start: int = 0) -> list:
    names = {"f": "fail", "p": "pass", "e": "excellent"}
    return [
        grade(names[c], prompt=f"p{start + i}", system=system, score=SCORES[names[c]])
        for i, c in enumerate(labels)
    ]


def test_grade_shares_counts_and_mean():
    [dist] = grade_distributions(_lima("ffpppeeeee"), {})
    assert dist.labels == ("fail", "pass", "excellent")
    assert dist.counts == {"fail": 2, "pass": 3, "excellent": 5}
    assert dist.shares == pytest.approx({"fail": 0.2, "pass": 0.3, "excellent": 0.5})
    assert dist.mean_score == pytest.approx((0 * 2 + 1 * 3 + 2 * 5) / 10)
    assert dist.mean_ci is not None and dist.mean_ci[0] < dist.mean_score < dist.mean_ci[1]
    for label in dist.labels:
        low, high = dist.share_ci[label]
        assert low <= dist.shares[label] <= high


def test_unparsed_and_errored_grades_are_counted_not_scored():
    grades = [*_lima("ep"), grade(None, prompt="p8"), grade("pass", prompt="p9", error="timeout")]
    [dist] = grade_distributions(grades, {})
    assert (dist.n, dist.unparsed) == (2, 2)
    assert dist.shares == {"fail": 0.0, "pass": 0.5, "excellent": 0.5}


def test_single_label_gets_the_wilson_interval_not_a_degenerate_one():
    [dist] = grade_distributions(_lima("eeee"), {})
    assert dist.shares["excellent"] == 1.0
    z2 = 1.959963984540054**2
    assert dist.share_ci["excellent"] == pytest.approx((4 / (4 + z2), 1.0))  # Wilson at p = 1, n = 4
    assert dist.share_ci["fail"] == pytest.approx((0.0, z2 / (4 + z2)))


def test_label_order_adds_unseen_labels_and_keeps_unknown_ones():
    grades = [grade("good", prompt="p1", scale="custom"), grade("weird", prompt="p2", scale="custom")]
    [dist] = grade_distributions(grades, {}, label_order={"custom": ["bad", "good"]})
    assert dist.labels == ("bad", "good", "weird")
    assert dist.counts == {"bad": 0, "good": 1, "weird": 1}
    assert dist.mean_score is None and dist.mean_ci is None


def test_numeric_labels_sort_by_value():
    grades = [grade(str(v), prompt=f"p{v}", scale="likert") for v in (10, 2, 9)]
    assert grade_distributions(grades, {})[0].labels == ("2", "9", "10")


def test_per_turn_grades_are_reported_per_turn():
    grades = [grade("pass", turn=0), grade("fail", turn=1), grade("excellent", turn=1, prompt="p2")]
    scales = {d.scale: d.n for d in grade_distributions(grades, {})}
    assert scales == {"lima/turn1": 1, "lima/turn2": 2}


def test_grades_by_split_and_system():
    grades = _lima("ee") + _lima("ff", start=2) + _lima("p", system="B")
    prompts = {
        f"p{i}": prompt(f"p{i}", split="in_distribution" if i < 2 else "out_of_distribution")
        for i in range(4)
    }
    rows = {(d.system, d.group): d.shares for d in grade_distributions(grades, prompts, by="split")}
    assert rows[("A", "in_distribution")]["excellent"] == 1.0
    assert rows[("A", "out_of_distribution")]["fail"] == 1.0
    assert rows[("B", "in_distribution")]["pass"] == 1.0


def test_aspect_means():
    grades = [
        grade(None, prompt="p1", aspects={"helpful": 4.0, "safe": 5.0}),
        grade(None, prompt="p2", aspects={"helpful": 2.0, "safe": 5.0}),
    ]
    [dist] = grade_distributions(grades, {})
    assert (dist.n, dist.unparsed) == (2, 0)
    assert dist.aspect_means == {"helpful": 3.0, "safe": 5.0}
    assert dist.aspect_ci["safe"] == (5.0, 5.0)
    assert math.isnan(dist.shares.get("x", math.nan))


def test_grade_intervals_reproduce_with_seed():
    grades = _lima("ffpepeepfe" * 3)
    assert grade_distributions(grades, {}, seed=2) == grade_distributions(grades, {}, seed=2)
    assert grade_distributions(grades, {}, seed=2) != grade_distributions(grades, {}, seed=3)


def test_to_frame_keeps_dict_fields_as_objects():
    frame = to_frame(grade_distributions(_lima("fpe"), {}))
    assert frame.loc[0, "counts"] == {"fail": 1, "pass": 1, "excellent": 1}
    assert frame.loc[0, "labels"] == ("fail", "pass", "excellent")
