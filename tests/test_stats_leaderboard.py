import math

import numpy as np
import pytest
from scipy.optimize import minimize

from evalkit.records import Outcome, swap_outcome
from evalkit.stats import Verdict, bradley_terry, length_controlled_win_rate, win_rates
from evalkit.stats.common import StatsInputError
from evalkit.stats.leaderboard import BT_RIDGE
from tests.stats_helpers import response, verdict, verdicts

ELO = 400.0 / math.log(10.0)


def _synthetic(strengths: list[float], n_prompts: int, seed: int, tie_rate: float = 0.1) -> list[Verdict]:
    """Every pair on every prompt; P(i beats j) = sigmoid(s_i - s_j), a share of draws become ties."""
    rng = np.random.default_rng(seed)
    names = [f"s{i}" for i in range(len(strengths))]
    out: list[Verdict] = []
    for p in range(n_prompts):
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                u = rng.random()
                if u < tie_rate:
                    outcome: Outcome = "tie"
                else:
                    outcome = "a" if rng.random() < 1 / (1 + math.exp(strengths[j] - strengths[i])) else "b"
                if rng.random() < 0.5:  # store half the pairs the other way round
                    out.append(verdict(swap_outcome(outcome), prompt=f"p{p}", a=names[j], b=names[i]))
                else:
                    out.append(verdict(outcome, prompt=f"p{p}", a=names[i], b=names[j]))
    return out


def test_bt_recovers_ordering_and_gaps_of_known_strengths():
    strengths = [0.0, 0.4, -0.8, 1.2, -0.3]
    ratings = bradley_terry(_synthetic(strengths, 400, seed=11), n_boot=200)
    assert [r.system for r in ratings] == ["s3", "s1", "s0", "s4", "s2"]
    assert [r.rank for r in ratings] == [1, 2, 3, 4, 5]
    assert np.mean([r.score for r in ratings]) == pytest.approx(1000.0)
    for r in ratings:
        assert r.ci_low < r.score < r.ci_high
        assert r.n_comparisons == 400 * 4


def test_bt_recovers_strength_gaps_without_ties():
    strengths = [0.0, 0.4, -0.8, 1.2, -0.3]
    scores = {
        r.system: r.score for r in bradley_terry(_synthetic(strengths, 400, seed=5, tie_rate=0.0), n_boot=0)
    }
    for name, truth in zip(["s1", "s2", "s3", "s4"], strengths[1:], strict=True):
        assert scores[name] - scores["s0"] == pytest.approx(ELO * truth, abs=ELO * 0.12)


def test_bt_two_systems_closed_form():
    # A beats B 3 times out of 4: the MLE odds are 3, so A leads by 400 * log10(3) points.
    ratings = bradley_terry(verdicts("aaab"), n_boot=0)
    assert ratings[0].system == "A"
    assert ratings[0].score - ratings[1].score == pytest.approx(400 * math.log10(3), abs=0.5)
    assert math.isnan(ratings[0].ci_low)


def test_bt_pools_a_pair_stored_in_both_directions():
    # A beats B 3 of 4 times, the comparisons stored as (A, B) and (B, A) alike.
    mixed = [*verdicts("aa"), *verdicts("ba", a="B", b="A", start=2)]
    ratings = {r.system: r.score for r in bradley_terry(mixed, n_boot=0)}
    assert ratings["A"] - ratings["B"] == pytest.approx(400 * math.log10(3), abs=0.5)


def test_bt_ties_count_half_each_way():
    ratings = bradley_terry(verdicts("attb"), n_boot=0)
    assert [r.score for r in ratings] == pytest.approx([1000.0, 1000.0])
    assert [r.rank for r in ratings] == [1, 1]


def test_bt_matches_a_generic_optimiser_on_the_same_objective():
    data = _synthetic([0.5, 0.0, -0.2, 0.9], 30, seed=4)
    names = ["s0", "s1", "s2", "s3"]
    pairs = [
        (names.index(v.model_a), names.index(v.model_b), {"a": 1.0, "tie": 0.5, "b": 0.0}[v.outcome])
        for v in data
        if v.outcome
    ]
    i, j, y = (np.array(col) for col in zip(*pairs, strict=True))

    def negative_log_likelihood(theta: np.ndarray) -> float:
        eta = theta[i] - theta[j]
        return float(-(y * eta - np.logaddexp(0, eta)).sum() + 0.5 * BT_RIDGE * (theta**2).sum())

    theta = minimize(negative_log_likelihood, np.zeros(4), method="BFGS", options={"gtol": 1e-9}).x
    expected = ELO * (theta - theta.mean()) + 1000.0
    fitted = {r.system: r.score for r in bradley_terry(data, n_boot=0)}
    assert [fitted[n] for n in names] == pytest.approx(list(expected), abs=1e-3)


def test_bt_anchor_fixes_one_system():
    ratings = bradley_terry(verdicts("aaab"), anchor="B", anchor_score=1200.0, n_boot=100)
    anchored = next(r for r in ratings if r.system == "B")
    assert (anchored.score, anchored.ci_low, anchored.ci_high) == (1200.0, 1200.0, 1200.0)
    with pytest.raises(StatsInputError, match="Z"):
        bradley_terry(verdicts("ab"), anchor="Z")


def test_bt_unbeaten_system_stays_finite():
    ratings = bradley_terry(verdicts("aaaa"), n_boot=50)
    assert all(math.isfinite(r.score) and math.isfinite(r.ci_low) for r in ratings)
    assert ratings[0].system == "A" and ratings[0].score > ratings[1].score


def test_bt_ignores_unresolved_and_handles_empty():
    assert bradley_terry(verdicts("??")) == []
    assert [r.n_comparisons for r in bradley_terry(verdicts("ab?"), n_boot=0)] == [2, 2]


def test_bt_seeds_reproduce_identical_intervals():
    data = _synthetic([0.0, 0.5, 1.0], 40, seed=2)
    assert bradley_terry(data, seed=9, n_boot=300) == bradley_terry(data, seed=9, n_boot=300)
    assert bradley_terry(data, seed=9, n_boot=300) != bradley_terry(data, seed=10, n_boot=300)


# --- length-controlled win rate --------------------------------------------------------------


def test_lc_equals_raw_win_rate_when_lengths_are_equal():
    data = verdicts("aaabtbaab")
    responses = [response(v.prompt_id, s, 100) for v in data for s in ("A", "B")]
    [lc] = length_controlled_win_rate(data, responses, n_boot=200)
    [raw] = win_rates(data, {})
    assert lc.win_rate == pytest.approx(raw.win_rate, abs=1e-4)
    assert (lc.n, lc.wins, lc.ties, lc.losses) == (raw.n, raw.wins, raw.ties, raw.losses)


def test_lc_removes_a_pure_length_effect():
    # A is longer on average; the judge prefers whichever answer is longer and nothing else.
    rng = np.random.default_rng(0)
    data, responses = [], []
    for p in range(600):
        len_a, len_b = int(rng.normal(1400, 300)), int(rng.normal(1000, 300))
        win = rng.random() < 1 / (1 + math.exp(-3 * math.tanh((len_a - len_b) / 500)))
        data.append(verdict("a" if win else "b", prompt=f"p{p}"))
        responses += [response(f"p{p}", "A", len_a), response(f"p{p}", "B", len_b)]
    [lc] = length_controlled_win_rate(data, responses, n_boot=300)
    assert win_rates(data, {})[0].win_rate > 0.7
    assert lc.win_rate == pytest.approx(0.5, abs=0.06)
    assert lc.ci_low < 0.5 < lc.ci_high


def test_lc_counts_verdicts_without_responses_as_unresolved():
    data = verdicts("aab")
    responses = [
        response("p0", "A", 10),
        response("p0", "B", 20),
        response("p1", "A", 5),
        response("p1", "B", 9),
    ]
    [lc] = length_controlled_win_rate(data, responses, n_boot=0)
    assert (lc.n, lc.unresolved) == (2, 1)
