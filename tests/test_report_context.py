"""The report's numbers are exactly what evalkit.stats returns, and every failure is accounted for."""

from __future__ import annotations

import pytest
from report_helpers import GRADE_SOURCE, HUMAN_SOURCE, PAIR_SOURCE, make_records

from evalkit.records import IN_DISTRIBUTION, OUT_OF_DISTRIBUTION, Judgment, Prompt
from evalkit.report.context import ReportContext, build_context
from evalkit.report.formatting import ci, pct
from evalkit.report.pairwise_view import StatSettings, rate_note
from evalkit.runner.meta import RunMeta, RunRecords
from evalkit.stats import (
    bradley_terry,
    grade_distributions,
    judge_diagnostics,
    pairwise_agreement,
    reconcile,
    split_gap,
    win_rates,
)

SEED, N_BOOT = 3, 200


@pytest.fixture(scope="module")
def records() -> RunRecords:
    return make_records(24, ("lima", "alpaca", "gpt"))


@pytest.fixture(scope="module")
def ctx(records: RunRecords) -> ReportContext:
    return build_context(records, settings=StatSettings(seed=SEED, n_boot=N_BOOT), charts=False)


def _prompts(records: RunRecords) -> dict[str, Prompt]:
    return {p.id: p for p in records.prompts}


def _same(items) -> set[str]:
    """repr-based identity: exact floats, and NaN fields (which never compare equal) still match."""
    return {repr(item) for item in items}


def _views(ctx: ReportContext):
    return {(v.model_a, v.model_b, v.source): v for block in ctx.pairwise for v in block.comparisons}


def test_overall_and_split_win_rates_equal_stats(records: RunRecords, ctx: ReportContext) -> None:
    verdicts = reconcile(records.judgments)
    views = _views(ctx)
    for by in ("all", "split"):
        expected = win_rates(verdicts, _prompts(records), by=by, n_boot=N_BOOT, seed=SEED)
        assert expected
        for rate in expected:
            shown = views[(rate.model_a, rate.model_b, rate.source)].groups
            assert repr(rate) in _same(shown)
    groups = [r.group for r in views[("lima", "alpaca", PAIR_SOURCE)].groups]
    assert groups == ["all", IN_DISTRIBUTION, OUT_OF_DISTRIBUTION]


def test_category_win_rates_and_split_gaps_equal_stats(records: RunRecords, ctx: ReportContext) -> None:
    verdicts = reconcile(records.judgments)
    views = _views(ctx)
    for rate in win_rates(verdicts, _prompts(records), by="category", n_boot=N_BOOT, seed=SEED):
        assert repr(rate) in _same(views[(rate.model_a, rate.model_b, rate.source)].categories)
    gaps = split_gap(verdicts, _prompts(records), n_boot=N_BOOT, seed=SEED)
    assert gaps
    for gap in gaps:
        assert repr(views[(gap.model_a, gap.model_b, gap.source)].gap) == repr(gap)


def test_hand_worked_counts() -> None:
    """p1: both orders say a; p2: both say b; p3: a then b (a position flip, reconciled to a tie)."""
    prompts = tuple(Prompt(id=f"p{i}", turns=("q",)) for i in (1, 2, 3))
    plan = {"p1": ("a", "a"), "p2": ("b", "b"), "p3": ("a", "b")}
    judgments = tuple(
        Judgment(prompt_id=pid, model_a="x", model_b="y", order=order, source="llm:j", outcome=outcome)
        for pid, outcomes in plan.items()
        for order, outcome in zip(("ab", "ba"), outcomes, strict=True)
    )
    ctx = build_context(
        RunRecords(prompts=prompts, judgments=judgments), settings=StatSettings(n_boot=50), charts=False
    )
    overall = ctx.pairwise[0].comparisons[0].overall
    assert overall is not None
    assert (overall.wins, overall.ties, overall.losses, overall.n) == (1, 1, 1, 3)
    assert overall.win_rate == pytest.approx(0.5)
    assert rate_note(overall).startswith("win rate 50.0% [")
    example = ctx.examples.examples[2]
    assert "v|c0|s0|tie" in example.tokens.split()
    assert "v|c0|s0|flip" in example.tokens.split()


def test_grade_distributions_equal_stats(records: RunRecords, ctx: ReportContext) -> None:
    expected = grade_distributions(records.grades, _prompts(records), by="all", n_boot=N_BOOT, seed=SEED)
    expected += grade_distributions(records.grades, _prompts(records), by="split", n_boot=N_BOOT, seed=SEED)
    (block,) = ctx.grades
    assert (block.scale, block.source) == ("lima-3", GRADE_SOURCE)
    assert sorted(map(repr, block.rows)) == sorted(map(repr, expected))
    assert block.labels == expected[0].labels
    assert set(block.labels) == {"fail", "pass", "excellent"}


def test_leaderboard_equals_stats_and_names_the_baseline(records: RunRecords, ctx: ReportContext) -> None:
    verdicts = [v for v in reconcile(records.judgments) if v.source == PAIR_SOURCE]
    expected = sorted(bradley_terry(verdicts, n_boot=N_BOOT, seed=SEED), key=lambda r: r.rank)
    (board,) = ctx.leaderboards
    assert [repr(row.rating) for row in board.rows] == [repr(r) for r in expected]
    assert board.baseline == "lima"
    alpaca = next(row for row in board.rows if row.rating.system == "alpaca")
    lima_vs_alpaca = _views(ctx)[("lima", "alpaca", PAIR_SOURCE)].overall
    assert alpaca.vs_baseline is not None and lima_vs_alpaca is not None
    assert alpaca.vs_baseline.rate == pytest.approx(1 - lima_vs_alpaca.win_rate)


def test_no_leaderboard_for_two_systems() -> None:
    ctx = build_context(make_records(12), settings=StatSettings(n_boot=50), charts=False)
    assert ctx.leaderboards == ()


def test_judge_diagnostics_and_agreement_equal_stats(records: RunRecords, ctx: ReportContext) -> None:
    assert records.meta.config is not None
    models = {s.name: s.model for s in records.meta.config.systems}
    expected_diagnostics = judge_diagnostics(records.judgments, records.responses, models)
    assert [repr(d) for d in ctx.judges.diagnostics] == [repr(d) for d in expected_diagnostics]
    assert [d.source for d in ctx.judges.diagnostics] == [PAIR_SOURCE]  # humans get no position statistics
    expected = pairwise_agreement(reconcile(records.judgments), _prompts(records), n_boot=N_BOOT, seed=SEED)
    tda = next(s for s in expected if s.measure == "tie_discounted_accuracy")
    (table,) = ctx.humans.pairwise
    assert table.title == "Judge–human agreement"
    overall = table.rows[0]
    assert (overall.source_x, overall.source_y, overall.group, overall.n) == (
        PAIR_SOURCE,
        "humans",
        "all",
        tda.n,
    )
    assert overall.cells[0] is not None and overall.cells[0].text == pct(tda.value)
    assert overall.cells[0].interval == ci(tda.ci_low, tda.ci_high)
    assert ctx.judges.judge_judge is None


def test_header_from_config(ctx: ReportContext) -> None:
    header = ctx.header
    assert header.name == "lima-vs-baselines"
    assert header.prompt_set == "lima-test"
    assert header.duration == "3 min 25 s"
    assert header.started_at == "2025-01-01 10:00:00 UTC"
    assert [s.name for s in header.systems] == ["lima", "alpaca", "gpt"]
    assert header.systems[0].params == (("temperature", "0.7"),)
    assert next((j.judge, j.model, j.version) for j in header.judges) == (
        "lima-pairwise",
        "local/gemma-3-270m",
        "1",
    )
    assert ctx.local_judges == ("local/gemma-3-270m",)
    assert header.annotators == ((HUMAN_SOURCE, 10),)


def test_api_judge_is_not_flagged_and_empty_config_degrades() -> None:
    api = make_records(8, judge_model="openai/gpt-4o")
    # provenance on the verdicts still names the local model, so rebuild without it
    judgments = tuple(j.model_copy(update={"provenance": None}) for j in api.judgments)
    ctx = build_context(
        api.model_copy(update={"judgments": judgments}), settings=StatSettings(n_boot=50), charts=False
    )
    assert ctx.local_judges == ()
    bare = build_context(
        api.model_copy(update={"meta": RunMeta(), "judgments": judgments}),
        settings=StatSettings(n_boot=50),
        charts=False,
    )
    assert bare.header.name == "unnamed run"
    assert {s.name for s in bare.header.systems} == {"lima", "alpaca"}
    assert bare.header.duration == ""


def test_local_judge_found_from_provenance_alone() -> None:
    records = make_records(8, judge_model="openai/gpt-4o")
    assert build_context(records, settings=StatSettings(n_boot=50), charts=False).local_judges == (
        "local/gemma-3-270m",
    )


def test_failures_are_all_listed(records: RunRecords, ctx: ReportContext) -> None:
    failures = ctx.failures
    assert [(f.prompt_id, f.who, f.detail) for f in failures.generation_errors] == [
        ("q001", "alpaca", "HTTP 500 after 3 retries")
    ]
    assert [(f.prompt_id, f.who) for f in failures.truncated] == [("q002", "alpaca")]
    unparsed = [j for j in records.judgments if not j.parsed]
    assert len(failures.unparsed_verdicts) == len(unparsed) == 2
    assert all(f.raw == "I cannot decide <b>between</b> these." for f in failures.unparsed_verdicts)
    assert len(failures.unparsed_grades) == sum(not g.parsed for g in records.grades) == 1
    assert failures.total == 5
    assert failures.generation_errors[0].anchor == ctx.index.anchors["q001"]


def test_example_tokens_point_at_failures_and_verdicts(ctx: ReportContext) -> None:
    by_id = {ex.prompt.id: ex for ex in ctx.examples.examples}
    assert len(by_id) == 24
    assert "f|generation" in by_id["q001"].tokens.split()
    assert "f|truncated" in by_id["q002"].tokens.split()
    assert "f|unparsed" in by_id["q004"].tokens.split()
    for example in ctx.examples.examples:
        for verdict in example.verdicts:
            assert (
                f"v|{verdict.comparison_id}|{verdict.source_id}|{verdict.outcome}" in example.tokens.split()
            )
    ids = list(ctx.index.anchors.values())
    assert len(set(ids)) == len(ids)


def test_anchor_ids_are_safe_and_unique() -> None:
    prompts = (
        Prompt(id='a "b" <c>', turns=("q",)),
        Prompt(id='a "b" <c>!', turns=("q",)),
        Prompt(id="", turns=("q",)),
    )
    ctx = build_context(RunRecords(prompts=prompts), settings=StatSettings(n_boot=10), charts=False)
    assert list(ctx.index.anchors.values()) == ["p0-a-b-c", "p1-a-b-c", "p2"]
