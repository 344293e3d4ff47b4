import math

import pytest

from evalkit.stats import (
    agreement_between,
    agreement_matrix,
    cohens_kappa,
    krippendorff_alpha,
    raw_agreement,
    tie_discounted_accuracy,
)
from evalkit.stats.common import StatsInputError
from tests.stats_helpers import verdict


def test_tie_discounted_accuracy_hand_worked():
    # same (1) + a vs b (0) + tie vs b (0.5) + b vs tie (0.5) = 2 of 4
    assert tie_discounted_accuracy(["a", "a", "tie", "b"], ["a", "b", "b", "tie"]) == 0.5


def test_two_different_non_tie_labels_score_zero_not_half():
    assert tie_discounted_accuracy(["a"], ["b"]) == 0.0
    assert tie_discounted_accuracy(["b", "a"], ["a", "b"]) == 0.0


def test_tie_discounted_accuracy_extremes():
    assert tie_discounted_accuracy(["tie", "a"], ["tie", "a"]) == 1.0
    assert tie_discounted_accuracy(["tie"], ["a"]) == 0.5
    assert math.isnan(tie_discounted_accuracy([], []))
    with pytest.raises(StatsInputError):
        tie_discounted_accuracy(["a"], [])


def test_raw_agreement_with_and_without_ties():
    x = ["a", "tie", "b", "a", "b"]
    y = ["a", "tie", "a", "tie", "b"]
    assert raw_agreement(x, y) == pytest.approx(3 / 5)
    # without ties only (a, a), (b, a), (b, b) count
    assert raw_agreement(x, y, include_ties=False) == pytest.approx(2 / 3)
    assert math.isnan(raw_agreement(["tie"], ["a"], include_ties=False))


def test_cohens_kappa_textbook_example():
    # 2x2 table: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> p_o = 0.7, p_e = 0.5, kappa = 0.4
    x = ["y"] * 25 + ["n"] * 25
    y = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert cohens_kappa(x, y) == pytest.approx(0.4)


def test_cohens_kappa_small_cases():
    assert cohens_kappa(list("aabb"), list("abbb")) == pytest.approx(0.5)
    assert cohens_kappa(list("ab"), list("ab")) == 1.0
    assert math.isnan(cohens_kappa(list("aa"), list("aa")))


# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the 4 observers x 12 units
# example with missing values; published alphas: nominal 0.743, ordinal 0.815, interval 0.849.
_N = None
KRIPPENDORFF_EXAMPLE = list(
    zip(
        [1, 2, 3, 3, 2, 1, 4, 1, 2, _N, _N, _N],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _N, 3],
        [_N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _N],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _N],
        strict=True,
    )
)


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)]
)
def test_krippendorff_published_example(level: str, published: float):
    assert round(krippendorff_alpha(KRIPPENDORFF_EXAMPLE, level=level), 3) == published  # type: ignore[arg-type]


def test_krippendorff_nominal_hand_worked():
    # Coincidences: o_aa = 2, o_ab = o_ba = 1, o_bb = 4; n_a = 3, n_b = 5, n = 8.
    # D_o = 2/8, D_e = 2*3*5/(8*7) = 30/56, alpha = 1 - (1/4)/(30/56) = 8/15.
    units = [("a", "a"), ("a", "b"), ("b", "b"), ("b", "b")]
    assert krippendorff_alpha(units) == pytest.approx(8 / 15)
    # A unit with a single value is not pairable and changes nothing; nor does a nan.
    assert krippendorff_alpha([*units, ("a", None), (float("nan"), "b")]) == pytest.approx(8 / 15)


def test_krippendorff_ordinal_labels_need_an_order():
    units = [("fail", "pass"), ("pass", "pass"), ("excellent", "pass"), ("fail", "fail")]
    with pytest.raises(StatsInputError, match="categories"):
        krippendorff_alpha(units, level="ordinal")
    ordered = krippendorff_alpha(units, level="ordinal", categories=["fail", "pass", "excellent"])
    as_ranks = krippendorff_alpha([(0, 1), (1, 1), (2, 1), (0, 0)], level="ordinal")
    assert ordered == pytest.approx(as_ranks)
    as_interval = krippendorff_alpha(units, level="interval", categories=["fail", "pass", "excellent"])
    assert as_interval == pytest.approx(
        krippendorff_alpha([(0, 1), (1, 1), (2, 1), (0, 0)], level="interval")
    )


def test_krippendorff_degenerate_cases():
    assert krippendorff_alpha([("a", "a"), ("b", "b")]) == 1.0
    assert math.isnan(krippendorff_alpha([("a", "a")]))
    assert math.isnan(krippendorff_alpha([("a", None)]))


def test_agreement_between_sources_matches_items_and_swapped_pairs():
    verdicts = [
        verdict("a", prompt="p1", source="llm:j"),
        verdict("b", prompt="p2", source="llm:j"),
        verdict("tie", prompt="p3", source="llm:j"),
        verdict(None, prompt="p4", source="llm:j"),
        verdict("a", prompt="p1", source="human:h"),
        # the same pair stored as (B, A): "b" there is a win for A
        verdict("b", prompt="p2", a="B", b="A", source="human:h"),
        verdict("a", prompt="p3", source="human:h"),
        verdict("a", prompt="p4", source="human:h"),
        verdict("a", prompt="p5", source="human:h"),
    ]
    agreement = agreement_between(verdicts, "llm:j", "human:h")
    # matched: p1 (a, a), p2 (b, a), p3 (tie, a); p4 unresolved for the judge, p5 not judged
    assert agreement.n == 3
    assert agreement.tie_discounted_accuracy == pytest.approx((1 + 0 + 0.5) / 3)
    assert agreement.raw_agreement == pytest.approx(1 / 3)
    assert agreement.raw_agreement_no_ties == pytest.approx(1 / 2)
    assert agreement.cohens_kappa == pytest.approx(cohens_kappa(["a", "b", "tie"], ["a", "a", "a"]))


def test_agreement_matrix_lists_every_pair_of_sources():
    verdicts = [verdict("a", source=s) for s in ("llm:j", "human:1", "human:2")]
    rows = agreement_matrix(verdicts)
    assert [(r.source_x, r.source_y, r.n) for r in rows] == [
        ("llm:j", "human:1", 1),
        ("llm:j", "human:2", 1),
        ("human:1", "human:2", 1),
    ]
    empty = agreement_matrix(verdicts, ["llm:j", "human:9"])[0]
    assert empty.n == 0 and math.isnan(empty.tie_discounted_accuracy) and math.isnan(empty.krippendorff_alpha)
