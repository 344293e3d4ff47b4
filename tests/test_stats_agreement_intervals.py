"""Agreement tables with intervals: the same numbers as the scalar measures, per group, per rater pair."""

import math
import random

import pytest

from evalkit.records import Grade
from evalkit.stats import (
    Verdict,
    agreement_between,
    cohens_kappa,
    grade_agreement,
    grade_confusion,
    krippendorff_alpha,
    pairwise_agreement,
    pairwise_confusion,
)
from tests.stats_helpers import prompt, verdict

OUTCOMES = ("a", "b", "tie")
ANNOTATORS = ("human:ann", "human:bob", "human:cy")


def synthetic_verdicts(n_prompts: int = 40, seed: int = 3) -> tuple[list[Verdict], dict]:
    """A judge on every prompt, three annotators on about 70% of them each, half the prompts OOD."""
    rng = random.Random(seed)
    prompts = {}
    found = []
    for i in range(n_prompts):
        pid = f"p{i}"
        prompts[pid] = prompt(pid, split="in_distribution" if i % 2 else "out_of_distribution")
        truth = rng.choice(("a", "a", "b", "tie"))
        for source in ("llm:judge", *ANNOTATORS):
            if source.startswith("human:") and rng.random() < 0.3:
                continue
            outcome = truth if rng.random() < 0.7 else rng.choice(OUTCOMES)
            found.append(verdict(outcome, prompt=pid, source=source))  # type: ignore[arg-type]
    return found, prompts


def rows_of(rows, source_x, source_y, group="all"):
    chosen = [r for r in rows if (r.source_x, r.source_y, r.group) == (source_x, source_y, group)]
    return {r.measure: r for r in chosen}


@pytest.fixture(scope="module")
def data():
    found, prompts = synthetic_verdicts()
    return found, prompts, pairwise_agreement(found, prompts, by="all", n_boot=300, seed=1)


def test_point_values_match_the_scalar_measures(data):
    found, _, rows = data
    expected = agreement_between(found, "llm:judge", "human:bob")
    got = rows_of(rows, "llm:judge", "human:bob")
    assert got["tie_discounted_accuracy"].value == pytest.approx(expected.tie_discounted_accuracy)
    assert got["agreement"].value == pytest.approx(expected.raw_agreement)
    assert got["agreement_without_ties"].value == pytest.approx(expected.raw_agreement_no_ties)
    assert got["cohens_kappa"].value == pytest.approx(expected.cohens_kappa)
    assert got["krippendorff_alpha"].value == pytest.approx(expected.krippendorff_alpha)
    assert got["agreement"].n == expected.n
    assert got["agreement_without_ties"].n < expected.n
    assert {r.relation for r in got.values()} == {"judge-human"}


def test_every_rater_comparison_is_there(data):
    _, _, rows = data
    pairs = {(r.relation, r.source_x, r.source_y) for r in rows}
    assert ("judge-human", "llm:judge", "humans") in pairs
    assert ("human-human", "human:ann", "human:bob") in pairs
    assert ("human-human", "humans", "humans") in pairs
    assert {("human-human", h, "others' mode") for h in ANNOTATORS} <= pairs


def test_intervals_hold_the_point_and_are_seeded(data):
    found, prompts, rows = data
    for row in rows:
        if not math.isnan(row.value):
            assert row.ci_low - 1e-12 <= row.value <= row.ci_high + 1e-12, row
    assert pairwise_agreement(found, prompts, n_boot=300, seed=1) == rows
    assert pairwise_agreement(found, prompts, n_boot=300, seed=2) != rows


def test_alpha_of_all_annotators_allows_missing_labels(data):
    found, _, rows = data
    by_prompt = {}
    for v in found:
        if v.source in ANNOTATORS:
            by_prompt.setdefault(v.prompt_id, {})[v.source] = v.outcome
    units = [[labels.get(h) for h in ANNOTATORS] for labels in by_prompt.values()]
    alpha = rows_of(rows, "humans", "humans")["krippendorff_alpha"]
    assert alpha.value == pytest.approx(krippendorff_alpha(units))
    assert alpha.n == sum(sum(x is not None for x in unit) >= 2 for unit in units)


def test_leave_one_out_compares_with_the_others_single_most_common_label():
    labels = {"p1": "aaa", "p2": "baa", "p3": "tbt"}  # x, y, z per prompt; t = tie
    names = {"a": "a", "b": "b", "t": "tie"}
    found = [
        verdict(names[c], prompt=p, source=f"human:{h}")  # type: ignore[arg-type]
        for p, row in labels.items()
        for h, c in zip("xyz", row, strict=True)
    ]
    rows = pairwise_agreement(found, {}, n_boot=0)
    agreement = {h: rows_of(rows, f"human:{h}", "others' mode")["agreement"] for h in "xyz"}
    # x: p1 others a,a (agree), p2 others a,a (disagree), p3 others b,tie (no single mode: left out)
    assert (agreement["x"].value, agreement["x"].n) == (0.5, 2)
    # y: p1 agree, p2 others b,a left out, p3 others tie,tie vs b
    assert (agreement["y"].value, agreement["y"].n) == (0.5, 2)
    # z: only p1 has a single mode among the others
    assert (agreement["z"].value, agreement["z"].n) == (1.0, 1)
    assert math.isnan(agreement["z"].ci_low)


def test_swapped_presentation_is_matched_in_one_orientation():
    found = [
        verdict("a", prompt="p1", source="llm:judge"),
        verdict("b", prompt="p1", a="B", b="A", source="human:x"),
        verdict("tie", prompt="p2", source="llm:judge"),
        verdict("tie", prompt="p2", a="B", b="A", source="human:x"),
    ]
    rows = rows_of(pairwise_agreement(found, {}, n_boot=0), "llm:judge", "humans")
    assert rows["agreement"].value == 1.0 and rows["agreement"].n == 2


def test_groups_split_the_items(data):
    found, prompts, _ = data
    rows = pairwise_agreement(found, prompts, by="split", n_boot=50)
    per_split = [
        rows_of(rows, "llm:judge", "humans", g)["agreement"]
        for g in ("in_distribution", "out_of_distribution")
    ]
    overall = rows_of(pairwise_agreement(found, prompts, n_boot=0), "llm:judge", "humans")["agreement"]
    assert sum(r.n for r in per_split) == overall.n
    assert sum(r.n_prompts for r in per_split) == overall.n_prompts


def test_whole_prompts_are_resampled():
    found, prompts = synthetic_verdicts(30, seed=5)
    # every item repeated on a second response sample of the same prompt: twice the items, same prompts
    doubled = found + [
        Verdict(v.prompt_id, v.model_a, v.model_b, v.source, 0, v.outcome, 1, False, False, None, 1)
        for v in found
    ]
    single = rows_of(pairwise_agreement(found, prompts, n_boot=200, seed=4), "llm:judge", "humans")
    twice = rows_of(pairwise_agreement(doubled, prompts, n_boot=200, seed=4), "llm:judge", "humans")
    for name, row in single.items():
        assert twice[name].n == 2 * row.n and twice[name].n_prompts == row.n_prompts
        if name == "krippendorff_alpha":
            continue  # alpha's small-sample correction depends on the item count itself
        assert (twice[name].ci_low, twice[name].ci_high) == pytest.approx((row.ci_low, row.ci_high))


def test_confusion_matrix_counts():
    found = [
        verdict("a", prompt="p1", source="llm:judge"),
        verdict("a", prompt="p1", source="human:x"),
        verdict("a", prompt="p2", source="llm:judge"),
        verdict("tie", prompt="p2", source="human:x"),
        verdict("b", prompt="p3", source="llm:judge"),
    ]
    cells = pairwise_confusion(found, {})
    counts = {(c.label_x, c.label_y): c.count for c in cells if c.source_y == "humans"}
    assert len(counts) == 9 and sum(counts.values()) == 2
    assert counts[("a", "a")] == 1 and counts[("a", "tie")] == 1


def human_grade(label: str, prompt_id: str, source: str, system: str = "A") -> Grade:
    return Grade(prompt_id=prompt_id, system=system, scale="lima", source=source, label=label)


def test_grades_get_kappa_and_ordinal_alpha():
    x = ["fail", "pass", "excellent", "pass", "excellent", "fail", "pass"]
    y = ["fail", "excellent", "excellent", "pass", "pass", "pass", "pass"]
    grades = [human_grade(label, f"p{i}", "human:x") for i, label in enumerate(x)]
    grades += [human_grade(label, f"p{i}", "llm:grader") for i, label in enumerate(y)]
    grades.append(Grade(prompt_id="p0", system="B", scale="lima", source="human:x", label=None))
    rows = rows_of(grade_agreement(grades, {}, n_boot=100), "llm:grader", "humans")
    assert "tie_discounted_accuracy" not in rows
    assert rows["cohens_kappa"].value == pytest.approx(cohens_kappa(y, x))
    order = ["fail", "pass", "excellent"]
    units = list(zip(y, x, strict=True))
    assert rows["krippendorff_alpha_ordinal"].value == pytest.approx(
        krippendorff_alpha(units, level="ordinal", categories=order)
    )
    assert rows["krippendorff_alpha"].value == pytest.approx(krippendorff_alpha(units))
    assert rows["agreement"].n == 7
    cells = grade_confusion(grades, {})
    assert [c.label_x for c in cells[:3]] == ["fail"] * 3 and [c.label_y for c in cells[:3]] == order


def test_no_shared_items_no_rows():
    found = [verdict("a", prompt="p1", source="llm:judge"), verdict("a", prompt="p2", source="human:x")]
    assert pairwise_agreement(found, {}, n_boot=10) == []
