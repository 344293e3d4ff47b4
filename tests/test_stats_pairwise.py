import math

import numpy as np
import pytest

import evalkit.stats as stats
from evalkit.records import Prompt
from evalkit.stats import reconcile, split_gap, to_frame, win_rates
from evalkit.stats.common import StatsInputError
from evalkit.stats.intervals import wilson_interval
from tests.stats_helpers import judgment, prompt, verdict, verdicts


def test_public_names_import():
    for name in stats.__all__:
        assert getattr(stats, name) is not None


# --- reconcile ---------------------------------------------------------------------------


def test_both_orders_agree_gives_that_outcome():
    [v] = reconcile([judgment("a", "ab"), judgment("a", "ba")])
    assert (v.outcome, v.orders, v.inconsistent, v.flipped) == ("a", 2, False, False)


def test_swapped_order_is_reconciled_in_canonical_terms():
    # The judge preferred model_b's response both times; in the "ba" order that response was shown
    # first, but outcomes are canonical, so both read "b".
    [v] = reconcile([judgment("b", "ba"), judgment("b", "ab")])
    assert (v.outcome, v.inconsistent, v.flipped) == ("b", False, False)


def test_position_flip_becomes_tie_and_is_flagged():
    # A judge that always picks the first shown response: "a" when A is first, "b" when B is first.
    [v] = reconcile([judgment("a", "ab"), judgment("b", "ba")])
    assert (v.outcome, v.orders, v.inconsistent, v.flipped) == ("tie", 2, True, True)


def test_win_and_tie_reconcile_to_tie_without_flip():
    [v] = reconcile([judgment("a", "ab"), judgment("tie", "ba")])
    assert (v.outcome, v.inconsistent, v.flipped) == ("tie", True, False)


def test_unparsed_order_leaves_verdict_unresolved():
    [v] = reconcile([judgment("a", "ab"), judgment(None, "ba")])
    assert (v.outcome, v.orders) == (None, 1)


def test_errored_order_leaves_verdict_unresolved_even_with_an_outcome():
    [v] = reconcile([judgment("a", "ab"), judgment("a", "ba", error="timeout")])
    assert (v.outcome, v.orders) == (None, 1)


def test_single_order_judgment_stands_alone():
    [v] = reconcile([judgment("tie", "ba", source="human:ann1")])
    assert (v.outcome, v.orders, v.source, v.inconsistent) == ("tie", 1, "human:ann1", False)


def test_later_judgment_of_same_order_replaces_earlier():
    [v] = reconcile([judgment(None, "ab"), judgment("b", "ab"), judgment("b", "ba")])
    assert (v.outcome, v.orders) == ("b", 2)


def test_groups_are_kept_apart_by_source_sample_and_prompt():
    found = reconcile(
        [
            judgment("a", source="llm:x"),
            judgment("b", source="llm:y"),
            judgment("tie", sample=1, source="llm:x"),
            judgment("a", prompt="p2", source="llm:x"),
        ]
    )
    assert [(v.source, v.sample, v.prompt_id, v.outcome) for v in found] == [
        ("llm:x", 0, "p1", "a"),
        ("llm:y", 0, "p1", "b"),
        ("llm:x", 1, "p1", "tie"),
        ("llm:x", 0, "p2", "a"),
    ]


def test_disagreeing_orders_are_a_tie_even_with_probabilities():
    orders = [
        judgment("a", "ab", probabilities={"a": 0.9, "b": 0.05, "tie": 0.05}),
        judgment("b", "ba", probabilities={"a": 0.4, "b": 0.5, "tie": 0.1}),
    ]
    [v] = reconcile(orders)
    assert v.probabilities == pytest.approx({"a": 0.65, "b": 0.275, "tie": 0.075})
    assert (v.outcome, v.inconsistent, v.flipped) == ("tie", True, True)


def test_probabilities_decide_the_outcome_only_when_configured():
    orders = [
        judgment("a", "ab", probabilities={"a": 0.9, "b": 0.05, "tie": 0.05}),
        judgment("b", "ba", probabilities={"a": 0.4, "b": 0.5, "tie": 0.1}),
    ]
    [v] = reconcile(orders, probability_sources={orders[0].source})
    assert (v.outcome, v.inconsistent, v.flipped) == ("a", True, True)


def test_probability_argmax_tie_gives_tie():
    orders = [
        judgment("a", "ab", probabilities={"a": 0.6, "b": 0.3, "tie": 0.1}),
        judgment("b", "ba", probabilities={"a": 0.3, "b": 0.6, "tie": 0.1}),
    ]
    [v] = reconcile(orders, probability_sources={orders[0].source})
    assert v.outcome == "tie"


# --- win rates ---------------------------------------------------------------------------


def test_all_wins_give_one_with_the_wilson_interval():
    [rate] = win_rates(verdicts("aaaaaaaaaa"), {})
    assert (rate.win_rate, rate.ci_high) == (1.0, 1.0)
    assert rate.ci_low == pytest.approx(10 / (10 + 1.959963984540054**2))  # Wilson at p = 1, n = 10
    assert (rate.n, rate.wins, rate.ties, rate.losses) == (10, 10, 0, 0)
    assert (rate.win_share, rate.tie_share, rate.loss_share) == (1.0, 0.0, 0.0)


def test_all_ties_give_one_half_with_an_interval_of_positive_width():
    [rate] = win_rates(verdicts("tttttt"), {})
    assert (rate.win_rate, rate.tie_share) == (0.5, 1.0)
    assert (rate.ci_low, rate.ci_high) == pytest.approx(wilson_interval(0.5, 6))
    assert rate.ci_high - rate.ci_low > 0.5


def test_unresolved_verdicts_are_counted_not_scored():
    [rate] = win_rates(verdicts("aab?t?"), {})
    assert (rate.n, rate.unresolved, rate.wins, rate.losses, rate.ties) == (4, 2, 2, 1, 1)
    assert rate.win_rate == pytest.approx(2.5 / 4)


def test_no_resolved_verdicts_give_nan():
    [rate] = win_rates(verdicts("??"), {})
    assert rate.n == 0 and rate.unresolved == 2
    assert math.isnan(rate.win_rate) and math.isnan(rate.ci_low) and math.isnan(rate.win_share)


def test_interval_matches_normal_theory_for_independent_prompts():
    rate = win_rates(verdicts("a" * 240 + "b" * 160), {}, n_boot=4000)[0]
    half_width = 1.96 * math.sqrt(0.6 * 0.4 / 400)
    assert rate.win_rate == pytest.approx(0.6)
    assert rate.ci_low == pytest.approx(0.6 - half_width, abs=0.006)
    assert rate.ci_high == pytest.approx(0.6 + half_width, abs=0.006)


def test_bootstrap_resamples_whole_prompts():
    # 10 prompts, each with 10 identical verdicts: only 10 independent units, so the interval is
    # as wide as for 10 verdicts (about +-0.3), not 100 (about +-0.1).
    many = [verdict("a" if p < 5 else "b", prompt=f"p{p}", sample=s) for p in range(10) for s in range(10)]
    rate = win_rates(many, {}, seed=3)[0]
    assert rate.win_rate == 0.5
    assert rate.ci_high - rate.ci_low > 0.45


def test_same_seed_same_interval_other_seed_other_interval():
    data = verdicts("aababtbaab" * 5)
    first = win_rates(data, {}, seed=7)[0]
    again = win_rates(data, {}, seed=7)[0]
    other = win_rates(data, {}, seed=8)[0]
    assert (first.ci_low, first.ci_high) == (again.ci_low, again.ci_high)
    assert (first.ci_low, first.ci_high) != (other.ci_low, other.ci_high)


def test_confidence_level_narrows_interval():
    data = verdicts("aababtbaab" * 5)
    wide = win_rates(data, {}, confidence=0.95)[0]
    narrow = win_rates(data, {}, confidence=0.5)[0]
    assert wide.ci_low < narrow.ci_low < narrow.ci_high < wide.ci_high


def test_by_split_and_category():
    data = verdicts("aaab") + verdicts("bbt", start=4)
    prompts = {f"p{i}": prompt(f"p{i}", split="in_distribution", category="advice") for i in range(4)}
    prompts |= {f"p{i}": prompt(f"p{i}", split="out_of_distribution", category="code") for i in range(4, 7)}
    by_split = {r.group: r.win_rate for r in win_rates(data, prompts, by="split")}
    assert by_split == {"in_distribution": 0.75, "out_of_distribution": pytest.approx(0.5 / 3)}
    by_category = {r.group: r.n for r in win_rates(data, prompts, by="category")}
    assert by_category == {"advice": 4, "code": 3}


def test_grouping_needs_every_prompt():
    with pytest.raises(StatsInputError, match="p0"):
        win_rates(verdicts("a"), {}, by="split")


def test_comparisons_and_sources_are_separate_rows():
    data = verdicts("aa", a="A", b="B") + verdicts("bb", a="A", b="C") + verdicts("t", source="human:x")
    rows = [(r.model_a, r.model_b, r.source, r.win_rate) for r in win_rates(data, {})]
    assert rows == [("A", "B", "llm:judge", 1.0), ("A", "C", "llm:judge", 0.0), ("A", "B", "human:x", 0.5)]


def test_expected_win_rate_averages_probabilities():
    data = [
        verdict("a", prompt="p1", probabilities={"a": 0.8, "b": 0.1, "tie": 0.1}),
        verdict("b", prompt="p2", probabilities={"a": 0.2, "b": 0.6, "tie": 0.2}),
    ]
    [rate] = win_rates(data, {})
    assert rate.win_rate == 0.5
    assert rate.expected_win_rate == pytest.approx((0.85 + 0.3) / 2)
    assert rate.expected_ci_low <= rate.expected_win_rate <= rate.expected_ci_high


def test_expected_win_rate_is_nan_without_probabilities():
    assert math.isnan(win_rates(verdicts("ab"), {})[0].expected_win_rate)


def test_to_frame_has_one_row_per_result():
    frame = to_frame(win_rates(verdicts("ab") + verdicts("a", source="human:x"), {}))
    assert list(frame["source"]) == ["llm:judge", "human:x"]
    assert list(frame.columns[:4]) == ["model_a", "model_b", "source", "group"]
    assert to_frame([]).empty


def test_to_frame_keeps_the_chosen_columns_even_without_rows():
    frame = to_frame(win_rates(verdicts("ab"), {}), columns=["source", "win_rate"])
    assert list(frame.columns) == ["source", "win_rate"] and list(frame["source"]) == ["llm:judge"]
    assert list(to_frame([], columns=["source", "win_rate"]).columns) == ["source", "win_rate"]


# --- split gap ---------------------------------------------------------------------------


def _split_prompts(n_in: int, n_out: int) -> dict[str, Prompt]:
    ids = [f"p{i}" for i in range(n_in + n_out)]
    return {
        pid: prompt(pid, split="in_distribution" if i < n_in else "out_of_distribution")
        for i, pid in enumerate(ids)
    }


def test_split_gap_of_opposite_groups():
    [gap] = split_gap(verdicts("a" * 10 + "b" * 10), _split_prompts(10, 10), n_boot=2000)
    assert (gap.rate_x, gap.rate_y, gap.difference, gap.ci_high) == (1.0, 0.0, 1.0, 1.0)
    # Newcombe's interval from the two Wilson intervals, not the degenerate [1, 1] of a bootstrap
    (low_x, _), (_, high_y) = wilson_interval(1.0, 10), wilson_interval(0.0, 10)
    assert gap.ci_low == pytest.approx(1.0 - math.hypot(1.0 - low_x, high_y))
    # Only 2 of the C(20, 10) relabellings are as extreme: p is the add-one floor.
    assert gap.p_value == pytest.approx(1 / 2001)


def test_split_gap_of_identical_groups_is_zero_with_p_one():
    [gap] = split_gap(verdicts("abta" * 2 + "abta" * 2), _split_prompts(8, 8), n_boot=500)
    assert gap.difference == 0.0
    assert gap.p_value == 1.0
    assert gap.ci_low < 0.0 < gap.ci_high


def test_split_gap_p_value_matches_exact_permutation_test():
    # in: 3 wins of 4; out: 1 win of 4. Exact two-sided test over the C(8,4)=70 relabellings:
    # |gap| >= 0.5 unless the 4 wins split 2/2 between groups (C(4,2)*C(4,2)=36 ways): p = 34/70.
    [gap] = split_gap(verdicts("aaab" + "abbb"), _split_prompts(4, 4), n_boot=20000, seed=1)
    assert gap.difference == 0.5
    assert gap.p_value == pytest.approx(34 / 70, abs=0.01)


def test_split_gap_skips_comparisons_missing_a_group():
    assert split_gap(verdicts("ab"), _split_prompts(2, 0)) == []


def test_seeds_reproduce_split_gap():
    data, prompts = verdicts("aabtb" * 4 + "abbbt" * 4), _split_prompts(20, 20)
    assert split_gap(data, prompts, seed=5) == split_gap(data, prompts, seed=5)
    assert np.isfinite(split_gap(data, prompts)[0].p_value)


def test_expected_win_rate_uses_the_verdicts_that_have_probabilities():
    data = [
        verdict("a", prompt="p1", probabilities={"a": 0.8, "b": 0.1, "tie": 0.1}),
        verdict("b", prompt="p2", probabilities={"a": 0.2, "b": 0.6, "tie": 0.2}),
        verdict("a", prompt="p3"),  # no probabilities: left out of the weighted rate, not blanking it
    ]
    [rate] = win_rates(data, {})
    assert (rate.n, rate.expected_n) == (3, 2)
    assert rate.expected_win_rate == pytest.approx((0.85 + 0.3) / 2)


def test_small_samples_never_get_a_zero_width_interval():
    for outcomes in ("a", "t", "tt", "at", "aaa", "ttta", "bbbbb"):
        [rate] = win_rates(verdicts(outcomes), {}, n_boot=200)
        assert rate.ci_low <= rate.win_rate <= rate.ci_high
        assert rate.ci_high - rate.ci_low > 0.2, outcomes
