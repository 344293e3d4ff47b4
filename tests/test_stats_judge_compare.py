"""Which judge to trust: two judges and synthetic human labels, against hand-worked values."""

from __future__ import annotations

import pytest

from evalkit.records import Judgment, Order, Outcome, Response
from evalkit.stats.intervals import wilson_interval
from evalkit.stats.judge_compare import compare_judges, is_list_formatted, repeat_disagreement
from evalkit.stats.pairwise import Verdict

HUMAN: dict[str, Outcome] = {"p0": "a", "p1": "a", "p2": "b", "p3": "tie"}
LIST = "Steps:\n1. Do this.\n2. Then that."
PROSE = "A longer answer written as a single paragraph."
RESPONSES = [
    *(Response(prompt_id=p, system="x", outputs=(LIST,)) for p in HUMAN),
    *(Response(prompt_id=p, system="y", outputs=(PROSE,)) for p in HUMAN),
]


def judgment(prompt: str, order: Order, source: str, outcome: Outcome, sample: int = 0) -> Judgment:
    return Judgment(
        prompt_id=prompt, model_a="x", model_b="y", order=order, source=source, outcome=outcome, sample=sample
    )


def run_judgments() -> list[Judgment]:
    found = [judgment(p, "ab", "human:h1", o) for p, o in HUMAN.items()]
    for prompt, outcome in HUMAN.items():  # agrees with the human in both orders
        found += [judgment(prompt, "ab", "llm:good", outcome), judgment(prompt, "ba", "llm:good", outcome)]
    for prompt in HUMAN:  # the first-shown answer always wins: x in order ab, y in order ba
        found += [judgment(prompt, "ab", "llm:biased", "a"), judgment(prompt, "ba", "llm:biased", "b")]
    return found


def test_two_judges_side_by_side_sorted_by_human_agreement() -> None:
    biased_first = [j for j in run_judgments() if j.source != "llm:good"] + [
        j for j in run_judgments() if j.source == "llm:good"
    ]
    rows = compare_judges(biased_first, RESPONSES, n_boot=200)
    assert [r.source for r in rows] == ["llm:good", "llm:biased"]
    good, biased = rows
    assert good.human is not None and biased.human is not None
    assert good.human.items == 4 and good.human.tie_discounted_accuracy == 1.0
    assert good.human.cohens_kappa == pytest.approx(1.0)
    assert good.human.accuracy_ci == pytest.approx(wilson_interval(1.0, 4))  # 4 items: never [1, 1]
    # The biased judge's orders disagree on every item, so each verdict is a tie:
    # 0.5 for the three decided human labels, 1 for the human tie.
    assert biased.human.tie_discounted_accuracy == pytest.approx((0.5 * 3 + 1) / 4)
    assert biased.order_consistency == 0.0 and good.order_consistency == 1.0
    assert biased.diagnostics.first_position_preference == 1.0
    assert good.parse_rate == 1.0
    # Decided verdicts of the good judge: x (the list) won p0 and p1, y won p2.
    assert good.list_wins_rate == pytest.approx(2 / 3)
    assert good.usd_per_1000 is None and good.repeated_items == 0


def test_cost_and_time_per_thousand_verdicts() -> None:
    rows = compare_judges(
        run_judgments(), RESPONSES, usd={"llm:good": 0.02}, seconds={"llm:good": 2.0}, n_boot=50
    )
    good = next(r for r in rows if r.source == "llm:good")
    assert good.usd_per_1000 == pytest.approx(1000 * 0.02 / 4)
    assert good.seconds_per_1000 == pytest.approx(500.0)


def test_without_human_labels_there_is_no_agreement_column() -> None:
    rows = compare_judges(
        [j for j in run_judgments() if not j.source.startswith("human:")], RESPONSES, n_boot=50
    )
    assert [r.source for r in rows] == ["llm:good", "llm:biased"]  # run order
    assert all(r.human is None for r in rows)


def test_repeat_disagreement_over_samples() -> None:
    def verdict(prompt: str, sample: int, outcome: Outcome) -> Verdict:
        return Verdict(prompt, "x", "y", "llm:j", sample, outcome, 2, False, False, None)

    verdicts = [verdict("p0", 0, "a"), verdict("p0", 1, "a"), verdict("p1", 0, "a"), verdict("p1", 1, "b")]
    assert repeat_disagreement(verdicts) == (0.5, 2)
    assert repeat_disagreement(verdicts[:1]) == (pytest.approx(float("nan"), nan_ok=True), 0)


def test_list_detection() -> None:
    assert is_list_formatted("Tips:\n- one\n- two")
    assert is_list_formatted("1. first\n2) second")
    assert not is_list_formatted("One line.\n- a single item")
    assert not is_list_formatted("Prose with 1. a number inside.")
