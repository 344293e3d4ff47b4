"""Judge win rates corrected by human labels, from verdict records."""

import pytest

from evalkit.stats import corrected_win_rates, mean_interval, ppi_mean, win_rates
from tests.stats_helpers import prompt, verdict, verdicts

JUDGE = "aaabtaabaa" * 3  # 30 prompts, the judge favours A
HUMAN = "abtbtbaaba"  # 10 labeled prompts: p0..p9


def records():
    found = verdicts(JUDGE, source="llm:judge")
    found += verdicts(HUMAN, source="human:ann")
    prompts = {
        f"p{i}": prompt(f"p{i}", split="in_distribution" if i < 15 else "out_of_distribution")
        for i in range(30)
    }
    return found, prompts


SCORE = {"a": 1.0, "b": 0.0, "t": 0.5}


def test_corrects_the_judge_with_the_labeled_prompts():
    found, prompts = records()
    [row] = corrected_win_rates(found, prompts)
    judge = [SCORE[c] for c in JUDGE]
    human = [SCORE[c] for c in HUMAN]
    expected = ppi_mean(human, judge[:10], judge)
    assert (row.model_a, row.model_b, row.judge, row.group, row.method) == (
        "A",
        "B",
        "llm:judge",
        "all",
        "ppi++",
    )
    assert (row.n_items, row.n_labeled) == (30, 10)
    assert row.win_rate == pytest.approx(expected.estimate)
    assert (row.ci_low, row.ci_high, row.lam) == pytest.approx(
        (expected.ci_low, expected.ci_high, expected.lam)
    )
    [judge_only] = win_rates([v for v in found if v.source == "llm:judge"], prompts, n_boot=0)
    assert row.judge_win_rate == pytest.approx(judge_only.win_rate)
    assert row.human_win_rate == pytest.approx(mean_interval(human).estimate)
    plain = corrected_win_rates(found, prompts, method="ppi")[0]
    assert plain.lam == 1.0
    assert plain.win_rate == pytest.approx(sum(judge) / 30 + (sum(human) - sum(judge[:10])) / 10)


def test_annotators_are_averaged_per_prompt_and_swapped_pairs_matched():
    found = verdicts("aaaa", source="llm:judge")
    found += [
        verdict("a", prompt="p0", source="human:x"),
        verdict("b", prompt="p0", source="human:y"),  # p0: humans 0.5 on average
        verdict("a", prompt="p1", a="B", b="A", source="human:x"),  # B better than A: A scores 0
    ]
    [row] = corrected_win_rates(found, {}, method="classical")
    assert row.n_labeled == 2
    assert row.win_rate == pytest.approx(0.25)


def test_per_split_rows_and_no_row_without_labels():
    found, prompts = records()
    rows = corrected_win_rates(found, prompts, by="split")
    assert [r.group for r in rows] == ["in_distribution"]  # the labeled prompts are all in-distribution
    assert (rows[0].n_items, rows[0].n_labeled) == (15, 10)
    assert corrected_win_rates(verdicts(JUDGE, source="llm:judge"), prompts) == []


def test_unresolved_judge_verdicts_are_not_scored():
    found = verdicts("a?ab", source="llm:judge") + verdicts("bbbb", source="human:x")
    [row] = corrected_win_rates(found, {})
    assert (row.n_items, row.n_labeled) == (3, 3)
    assert row.judge_win_rate == pytest.approx(2 / 3)
