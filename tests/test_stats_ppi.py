"""Prediction-powered inference: coverage by simulation, and agreement with the reference package."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from evalkit.stats import mean_interval, ppi_mean
from evalkit.stats.common import StatsInputError

SCORES = np.array([1.0, 0.5, 0.0])  # model_a better, neither, model_b better
HUMAN_SHARES = np.array([0.45, 0.20, 0.35])
TRUE_WIN_RATE = float(HUMAN_SHARES @ SCORES)  # 0.55: the humans' win rate, ties half
BIASED_SHARES = np.array([0.70, 0.10, 0.20])  # the judge's own taste, far more pro-a


def biased_judge_sample(rng: np.random.Generator, n_items: int = 1000, n_labeled: int = 100):
    """Human scores of N items, a judge that copies them 60% of the time and is biased otherwise."""
    human = rng.choice(SCORES, size=n_items, p=HUMAN_SHARES)
    copies = rng.random(n_items) < 0.6
    judge = np.where(copies, human, rng.choice(SCORES, size=n_items, p=BIASED_SHARES))
    labeled = rng.choice(n_items, size=n_labeled, replace=False)
    return human[labeled], judge[labeled], judge


def coverage(method: str, repetitions: int = 1000) -> tuple[float, float]:
    """Share of seeded repetitions whose 95% interval covers the truth, and the mean width."""
    rng = np.random.default_rng(20240611)
    covered, widths = 0, []
    for _ in range(repetitions):
        labels, labeled_judge, judge = biased_judge_sample(rng)
        if method == "naive":
            estimate = mean_interval(judge)
        else:
            estimate = ppi_mean(labels, labeled_judge, judge, method=method)  # type: ignore[arg-type]
        covered += estimate.ci_low <= TRUE_WIN_RATE <= estimate.ci_high
        widths.append(estimate.ci_high - estimate.ci_low)
    return covered / repetitions, float(np.mean(widths))


@pytest.mark.parametrize("method", ["ppi++", "ppi"])
def test_interval_covers_the_truth_about_95_percent_of_the_time(method: str):
    rate, _ = coverage(method)
    # a binomial tolerance: 0.93 to 0.97 is about the 99.8% band of 1,000 draws at p = 0.95
    assert 0.93 <= rate <= 0.97, rate


def test_the_judge_alone_under_covers():
    naive, _ = coverage("naive")
    assert naive < 0.5  # the judge's bias does not shrink with more items


def test_tuned_weight_is_no_wider_than_the_labels_alone():
    _, tuned = coverage("ppi++", repetitions=300)
    _, classical = coverage("classical", repetitions=300)
    assert tuned < 0.95 * classical


def reference_cases():
    rng = np.random.default_rng(7)
    for _ in range(25):
        n_items = int(rng.integers(40, 3000))
        labels, labeled_judge, judge = biased_judge_sample(rng, n_items, int(rng.integers(5, 40)))
        yield labels, labeled_judge, judge
    # continuous scores (expected win rates from judge probabilities), a weak judge, an anti-judge
    human = rng.random(500)
    yield human[:60], np.clip(human[:60] + rng.normal(0, 0.3, 60), 0, 1), rng.random(500)
    yield human[:60], 1.0 - human[:60], 1.0 - human  # weight clipped at 0
    yield human[:60], 0.25 + 0.5 * human[:60], 0.25 + 0.5 * human  # a timid judge: weight clipped at 1


@pytest.mark.parametrize(("method", "lam"), [("ppi++", None), ("ppi", 1.0)])
@pytest.mark.parametrize("confidence", [0.95, 0.9])
def test_matches_the_reference_implementation(method: str, lam: float | None, confidence: float):
    ppi_py = pytest.importorskip("ppi_py")
    deviation = 0.0
    for labels, labeled_judge, judge in reference_cases():
        ours = ppi_mean(labels, labeled_judge, judge, method=method, confidence=confidence)  # type: ignore[arg-type]
        point = ppi_py.ppi_mean_pointestimate(labels, labeled_judge, judge, lam=lam)
        low, high = ppi_py.ppi_mean_ci(labels, labeled_judge, judge, alpha=1 - confidence, lam=lam)
        for mine, theirs in ((ours.estimate, point), (ours.ci_low, low), (ours.ci_high, high)):
            deviation = max(deviation, abs(mine - float(np.squeeze(theirs))))
    assert deviation < 1e-9


def test_plain_ppi_by_hand():
    labels, labeled_judge, judge = [1.0, 0.0, 1.0, 0.5], [1.0, 1.0, 1.0, 0.5], [1.0, 1.0, 1.0, 0.5, 0.0, 0.0]
    estimate = ppi_mean(labels, labeled_judge, judge, method="ppi")
    # judge mean 3.5/6, rectifier (y - f) = [0, -1, 0, 0] with mean -0.25
    assert estimate.estimate == pytest.approx(3.5 / 6 - 0.25)
    se = math.sqrt(np.var(judge) / 6 + np.var([0.0, -1.0, 0.0, 0.0]) / 4)
    assert estimate.std_error == pytest.approx(se)
    assert estimate.ci_high == pytest.approx(estimate.estimate + norm.ppf(0.975) * se)
    assert (estimate.lam, estimate.n_labeled, estimate.n_total) == (1.0, 4, 6)


def test_classical_ignores_the_judge():
    estimate = ppi_mean([1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0], [0.0] * 10, method="classical")
    assert estimate.estimate == 0.75 and estimate.lam == 0.0
    assert estimate.std_error == pytest.approx(math.sqrt(0.1875 / 4))


def test_weight_is_clipped_and_an_uninformative_judge_gets_none():
    labels = np.array([1.0, 0.0, 1.0, 0.0, 0.5])
    assert ppi_mean(labels, 1.0 - labels, np.r_[1.0 - labels, 0.2], method="ppi++").lam == 0.0
    assert ppi_mean(labels, np.full(5, 0.5), np.full(9, 0.5)).lam == 0.0
    perfect = ppi_mean(labels, labels, np.tile(labels, 100))
    assert 0.9 < perfect.lam <= 1.0
    timid = 0.25 + 0.5 * labels  # moves half as far as people do: the unclipped weight would be about 2
    assert ppi_mean(labels, timid, np.tile(timid, 100)).lam == 1.0


def test_one_label_gives_an_estimate_without_interval():
    estimate = ppi_mean([1.0], [0.5], [0.5, 0.5, 1.0])
    assert not math.isnan(estimate.estimate)
    assert math.isnan(estimate.ci_low) and math.isnan(estimate.ci_high)


def test_bad_input_is_refused():
    with pytest.raises(StatsInputError, match="one prediction per label"):
        ppi_mean([1.0, 0.0], [1.0], [1.0, 0.0])
    with pytest.raises(StatsInputError, match="at least one"):
        ppi_mean([], [], [1.0])
    assert math.isnan(mean_interval([]).estimate)
