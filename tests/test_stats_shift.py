"""Token distribution shift statistics against hand-worked token ranks."""

from __future__ import annotations

import pytest

from evalkit.analysis.shift_records import ShiftAnswer
from evalkit.records import Prompt
from evalkit.stats.shift import (
    class_counts,
    classify,
    shift_by_position,
    shift_shares,
    top_shifted_tokens,
)


def answer(
    prompt_id: str, ranks: list[int], tokens: list[str] | None = None, error: str | None = None
) -> ShiftAnswer:
    words = tokens or [f"w{i}" for i in range(len(ranks))]
    return ShiftAnswer(
        prompt_id=prompt_id,
        base="base",
        aligned="aligned",
        tokens=tuple(words),
        ranks=tuple(ranks),
        logprobs=tuple(-float(r) for r in ranks),
        top_tokens=tuple("top" for _ in ranks),
        error=error,
    )


@pytest.mark.parametrize(
    ("rank", "expected"),
    [(1, "unshifted"), (2, "marginal"), (3, "marginal"), (4, "shifted"), (262_144, "shifted")],
)
def test_classify_uses_urial_rank_thresholds(rank: int, expected: str) -> None:
    assert classify(rank) == expected


def test_classify_rejects_rank_zero() -> None:
    with pytest.raises(ValueError, match="starts at 1"):
        classify(0)


def test_class_counts_of_hand_worked_ranks() -> None:
    assert class_counts([1, 1, 2, 5, 3, 1, 40]) == (3, 2, 2)


def test_shares_pool_tokens_over_answers() -> None:
    # p1: 3 unshifted, 1 marginal; p2: 1 unshifted, 1 shifted -> 4/6, 1/6, 1/6 of all tokens.
    answers = [answer("p1", [1, 1, 2, 1]), answer("p2", [1, 9])]
    [row] = shift_shares(answers, {}, n_boot=200)
    assert row.tokens == 6 and row.answers == 2
    assert row.shares["unshifted"] == pytest.approx(4 / 6)
    assert row.shares["marginal"] == pytest.approx(1 / 6)
    assert row.shares["shifted"] == pytest.approx(1 / 6)
    assert sum(row.shares.values()) == pytest.approx(1.0)
    low, high = row.share_ci["unshifted"]
    assert 0.5 - 1e-9 <= low <= 4 / 6 <= high <= 0.75 + 1e-9  # replicates are p1p1, p1p2 or p2p2


def test_identical_prompts_give_a_degenerate_interval() -> None:
    answers = [answer(f"p{i}", [1, 2, 7, 1]) for i in range(5)]
    [row] = shift_shares(answers, {}, n_boot=300)
    assert row.share_ci["shifted"] == pytest.approx((0.25, 0.25))


def test_shares_per_split_and_errors_left_out() -> None:
    prompts = {
        "p1": Prompt(id="p1", turns=("a",), split="in_distribution"),
        "p2": Prompt(id="p2", turns=("b",), split="out_of_distribution"),
        "p3": Prompt(id="p3", turns=("c",), split="out_of_distribution"),
    }
    failed = answer("p3", [], error="GenerationError: too long")
    answers = [answer("p1", [1, 1]), answer("p2", [5, 1]), failed]
    rows = {row.group: row for row in shift_shares(answers, prompts, by="split", n_boot=100)}
    assert rows["in_distribution"].shares["unshifted"] == 1.0
    assert rows["out_of_distribution"].shares["shifted"] == 0.5
    assert rows["out_of_distribution"].answers == 1


def test_shift_by_position_buckets() -> None:
    # Position 1 is shifted in both answers, position 2 in one of two, positions 3-4 never.
    answers = [answer("p1", [9, 9, 1, 1]), answer("p2", [4, 1, 2])]
    rows = {row.label: row for row in shift_by_position(answers, n_boot=100)}
    assert set(rows) == {"1", "2", "3-4"}
    assert rows["1"].shifted_share == 1.0 and rows["1"].tokens == 2
    assert rows["2"].shifted_share == 0.5
    assert rows["3-4"].shifted_share == 0.0 and rows["3-4"].tokens == 3


def test_top_shifted_tokens_counts_and_base_choice() -> None:
    answers = [
        answer("p1", [5, 1, 5], tokens=["Sure", "the", "Sure"]),
        answer("p2", [1, 8, 1], tokens=["Sure", "!", "the"]),
    ]
    top = top_shifted_tokens(answers)
    assert [(t.token, t.shifted, t.occurrences) for t in top] == [("Sure", 2, 3), ("!", 1, 1)]
    assert top[0].base_choice == "top"


def test_empty_input_gives_no_rows() -> None:
    assert shift_shares([], {}) == []
    assert shift_by_position([]) == []
    assert top_shifted_tokens([]) == []
