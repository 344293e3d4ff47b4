"""Annotators' first-position preference, from the order each label records."""

import pytest

from evalkit.records import Judgment, Order, Outcome
from evalkit.stats.intervals import wilson_interval
from evalkit.stats.position import human_position_preference


def _label(prompt: str, outcome: Outcome | None, order: Order, source: str = "human:ann") -> Judgment:
    return Judgment(prompt_id=prompt, model_a="x", model_b="y", order=order, source=source, outcome=outcome)


def test_first_shown_share_counts_decided_labels_in_shown_terms() -> None:
    labels = [
        _label("p1", "a", "ab"),  # first shown (x) won
        _label("p2", "b", "ba"),  # y shown first and won
        _label("p3", "a", "ba"),  # x shown second and won
        _label("p4", "tie", "ab"),  # not decided
        _label("p5", None, "ab"),  # unparsed: not a label
        _label("p6", "a", "ab", source="llm:judge"),  # judges are diagnosed elsewhere
    ]
    [stat] = human_position_preference(labels)
    assert (stat.source, stat.labels, stat.decided, stat.first_won) == ("human:ann", 4, 3, 2)
    assert stat.share == pytest.approx(2 / 3)
    assert (stat.ci_low, stat.ci_high) == pytest.approx(wilson_interval(2 / 3, 3))
    assert stat.shuffled


def test_a_single_recorded_order_is_not_called_shuffled() -> None:
    [stat] = human_position_preference([_label("p1", "a", "ab"), _label("p2", "b", "ab")])
    assert stat.orders == ("ab",) and not stat.shuffled
