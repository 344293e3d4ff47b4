"""Run's report tables in the notebook: one leaderboard per verdict source (pooled only when asked),
split gaps, length-controlled rates and judge diagnostics, tidy and equal to what the report shows."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest
from report_helpers import HUMAN_SOURCE, PAIR_SOURCE, make_records

from evalkit.api import Run
from evalkit.errors import ConfigError
from evalkit.records import Judgment
from evalkit.report.build import settings_of
from evalkit.report.context import build_context
from evalkit.runner.config import PanelConfig
from evalkit.runner.meta import RunRecords
from evalkit.stats import bradley_terry

SECOND = "llm:second-opinion"
SYSTEMS = ("lima", "alpaca", "davinci")


def tidy(frame: pd.DataFrame) -> bool:
    """Every cell a scalar: no dict, list or tuple values."""
    return not any(isinstance(v, dict | list | tuple | set) for v in frame.to_numpy().ravel())


def with_second_judge(records: RunRecords, *, panel: bool) -> RunRecords:
    """The same judgments again from a second judge that disagrees about a third of the time."""
    rng = random.Random(3)
    second = [
        j.model_copy(update={"source": SECOND, "outcome": _maybe_flipped(j, rng)})
        for j in records.judgments
        if j.source == PAIR_SOURCE
    ]
    meta = records.meta
    assert meta.config is not None
    config = meta.config.model_copy(update={"panel": PanelConfig() if panel else None, "n_boot": 200})
    return records.model_copy(
        update={
            "judgments": (*records.judgments, *second),
            "meta": meta.model_copy(update={"config": config}),
        },
    )


def _maybe_flipped(judgment: Judgment, rng: random.Random) -> str | None:
    flip = {"a": "b", "b": "a", "tie": "tie", None: None}
    return flip[judgment.outcome] if rng.random() < 0.3 else judgment.outcome


@pytest.fixture(scope="module")
def run() -> Run:
    return Run(Path("unused"), with_second_judge(make_records(systems=SYSTEMS), panel=True))


def test_one_leaderboard_per_source_as_in_the_report(run: Run) -> None:
    frame = run.leaderboard()
    assert tidy(frame)
    context = build_context(run.records, settings=settings_of(run.records), charts=False, examples=False)
    expected = [
        (board.source, row.rating.system, row.rating.score, row.rating.ci_low, row.rating.ci_high)
        for board in context.leaderboards
        for row in board.rows
    ]
    got = list(frame[["source", "system", "score", "ci_low", "ci_high"]].itertuples(index=False, name=None))
    assert got == expected
    assert {PAIR_SOURCE, SECOND, "panel:panel"} <= set(frame["source"])
    for _, board in frame.groupby("source"):
        assert sorted(board["system"]) == sorted(SYSTEMS)  # each system once per source: nothing pooled
        assert board["rank"].is_monotonic_increasing


def test_baseline_and_length_controlled_rates_are_flat_columns(run: Run) -> None:
    frame = run.leaderboard(sources=[PAIR_SOURCE])
    assert set(frame["source"]) == {PAIR_SOURCE}
    assert list(frame.index) == list(range(len(frame)))
    assert set(frame["baseline"]) == {"lima"}
    others = frame[frame["system"] != "lima"]
    assert others["vs_baseline"].between(0, 1).all() and (others["vs_baseline_n"] > 0).all()
    assert frame.loc[frame["system"] == "lima", "vs_baseline"].isna().all()


def test_a_source_without_verdicts_is_named_not_an_empty_table(run: Run) -> None:
    for pool in (False, True):
        with pytest.raises(
            ConfigError, match=f"no verdicts from source llm:typo; sources in this run: {HUMAN_SOURCE}"
        ):
            run.leaderboard(sources=["llm:typo", PAIR_SOURCE], pool=pool)


def test_pooling_only_when_asked_and_never_the_panel_by_default(run: Run) -> None:
    pooled = run.leaderboard(pool=True)
    assert len(pooled) == len(SYSTEMS)
    assert pooled["source"].iloc[0] == f"pooled: {HUMAN_SOURCE}, {PAIR_SOURCE}, {SECOND}"
    judges = [v for v in run.verdicts if not v.source.startswith("panel:")]
    settings = settings_of(run.records)
    expected = bradley_terry(
        judges, n_boot=settings.n_boot, confidence=settings.confidence, seed=settings.seed
    )
    by_system = {r.system: r.score for r in expected}
    assert dict(zip(pooled["system"], pooled["score"], strict=True)) == pytest.approx(by_system)
    single = run.leaderboard(sources=[SECOND], pool=True)
    assert single["n_comparisons"].sum() < pooled["n_comparisons"].sum()


def test_split_gaps_and_length_controlled_rates_match_the_report(run: Run) -> None:
    context = build_context(run.records, settings=settings_of(run.records), charts=False, examples=False)
    gaps = run.split_gaps()
    assert tidy(gaps) and len(gaps) == len(context.tables.gaps) > 0
    first = next(iter(context.tables.gaps.values()))
    row = gaps[(gaps["model_b"] == first.model_b) & (gaps["source"] == first.source)].iloc[0]
    shown = [row["difference"], row["ci_low"], row["p_value"]]
    assert shown == [first.difference, first.ci_low, first.p_value]
    controlled = run.length_controlled()
    assert tidy(controlled) and len(controlled) == len(context.tables.length_controlled) > 0
    assert controlled["win_rate"].between(0, 1).all()


def test_judge_diagnostics_are_one_tidy_row_per_judge(run: Run) -> None:
    frame = run.judge_diagnostics()
    assert tidy(frame)
    assert list(frame["source"]) == [d.source for d in run.diagnostics()]
    assert not any(source.startswith("human:") for source in frame["source"])
    for d, (_, row) in zip(run.diagnostics(), frame.iterrows(), strict=True):
        assert row["parse_rate"] == pytest.approx(1 - d.unparsed_rate)
        assert row["position_consistency"] == pytest.approx(1 - d.position_flip_rate)
        interval = (row["length_coefficient_ci_low"], row["length_coefficient_ci_high"])
        assert interval == d.length_coefficient_ci
        assert row["warnings"] == "; ".join(d.warnings)


def test_every_named_table_is_tidy(run: Run) -> None:
    for table in ("grades", "leaderboard", "split_gaps", "length_controlled", "diagnostics", "win_rates"):
        frame = run.to_pandas(table, by="split")
        assert tidy(frame), table
        assert len(frame), table
    grades = run.to_pandas("grades")
    assert {"label", "count", "share", "ci_low", "ci_high"} <= set(grades.columns)


def test_two_systems_have_no_leaderboard_like_the_report() -> None:
    run = Run(Path("unused"), make_records(systems=("lima", "alpaca"), humans=False))
    assert run.leaderboard().empty
    assert list(run.leaderboard(pool=True)["system"].sort_values()) == ["alpaca", "lima"]


def test_judgment_records_stay_available_untouched(run: Run) -> None:
    frame = run.to_pandas("judgments")
    assert len(frame) == len(run.records.judgments)
    assert isinstance(run.records.judgments[0], Judgment)
