"""Run.agreement, Run.confusion and Run.corrected_win_rates: tidy DataFrames equal to evalkit.stats."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from report_helpers import ANNOTATORS, SECOND_JUDGE, make_human_study, make_records

from evalkit.api import Run
from evalkit.errors import ConfigError
from evalkit.stats import corrected_win_rates, grade_agreement, pairwise_agreement


@pytest.fixture(scope="module")
def run() -> Run:
    study = make_human_study()
    return Run(Path("unused"), study.model_copy(update={"meta": study.meta.model_copy(update={"seed": 5})}))


def tidy(frame: pd.DataFrame) -> bool:
    """Every cell a scalar: no dict, list or tuple values."""
    return not any(isinstance(v, dict | list | tuple | set) for v in frame.to_numpy().ravel())


def test_agreement_is_tidy_and_equals_stats(run: Run) -> None:
    frame = run.agreement(n_boot=100)
    assert tidy(frame)
    assert list(frame.columns[:7]) == [
        "kind",
        "scale",
        "relation",
        "source_x",
        "source_y",
        "group",
        "measure",
    ]
    assert set(frame["group"]) == {"all", "in_distribution", "out_of_distribution"}
    assert set(frame["kind"]) == {"pairwise", "grade"}
    expected = pairwise_agreement(run.verdicts, run.prompts, by="split", n_boot=100, seed=5)
    split_rows = frame[(frame["kind"] == "pairwise") & (frame["group"] != "all")]
    assert len(split_rows) == len(expected)
    first = expected[0]
    match = split_rows[
        (split_rows["source_x"] == first.source_x)
        & (split_rows["source_y"] == first.source_y)
        & (split_rows["group"] == first.group)
        & (split_rows["measure"] == first.measure)
    ]
    assert match[["value", "ci_low", "ci_high", "n"]].iloc[0].tolist() == pytest.approx(
        [first.value, first.ci_low, first.ci_high, first.n]
    )


def test_agreement_kinds_and_overall_only(run: Run) -> None:
    grades = run.agreement(by="all", kind="grade", n_boot=50)
    assert set(grades["group"]) == {"all"} and set(grades["kind"]) == {"grade"}
    assert len(grades) == len(grade_agreement(run.records.grades, run.prompts, n_boot=50, seed=5))
    pairwise = run.agreement(by="all", kind="pairwise", n_boot=0)
    relations = set(pairwise["relation"])
    assert relations == {"judge-judge", "judge-human", "human-human"}
    assert set(ANNOTATORS) <= set(pairwise["source_x"])


def test_confusion_counts_add_up(run: Run) -> None:
    frame = run.confusion(by="all", kind="pairwise")
    assert tidy(frame)
    pooled = frame[(frame["source_x"] == SECOND_JUDGE) & (frame["source_y"] == "humans")]
    agreement = run.agreement(by="all", kind="pairwise", n_boot=0)
    n = agreement[
        (agreement["source_x"] == SECOND_JUDGE)
        & (agreement["source_y"] == "humans")
        & (agreement["measure"] == "agreement")
    ]["n"].iloc[0]
    assert len(pooled) == 9 and pooled["count"].sum() == n


def test_corrected_win_rates_frame(run: Run) -> None:
    frame = run.corrected_win_rates()
    assert tidy(frame)
    overall = frame[(frame["judge"] == SECOND_JUDGE) & (frame["group"] == "all")].iloc[0]
    [expected] = [r for r in corrected_win_rates(run.verdicts, run.prompts) if r.judge == SECOND_JUDGE]
    assert overall["win_rate"] == pytest.approx(expected.win_rate)
    assert overall["method"] == "ppi++" and overall["n_labeled"] == expected.n_labeled
    plain = run.corrected_win_rates(by="all", method="ppi")
    assert set(plain["lam"]) == {1.0}
    assert run.to_pandas("corrected_win_rates").equals(run.corrected_win_rates(by="all"))


def test_without_human_labels_frames_are_empty_but_keep_their_columns() -> None:
    run = Run(Path("unused"), make_records(10, humans=False))
    frame = run.corrected_win_rates()
    assert frame.empty and "win_rate" in frame.columns
    assert run.agreement(kind="pairwise", n_boot=0).empty
    assert "measure" in run.agreement(n_boot=0).columns


def test_no_split_rows_when_prompts_have_no_split(run: Run) -> None:
    prompts = tuple(p.model_copy(update={"split": "unspecified"}) for p in run.records.prompts)
    unsplit = Run(Path("unused"), run.records.model_copy(update={"prompts": prompts}))
    assert set(unsplit.agreement(n_boot=0)["group"]) == {"all"}
    assert set(unsplit.corrected_win_rates()["group"]) == {"all"}


def test_diagnostics_leave_humans_out(run: Run) -> None:
    assert not any(d.source.startswith("human:") for d in run.diagnostics())


def test_agreement_by_relation_uses_the_runs_settings_like_the_report(run: Run) -> None:
    from evalkit.report.build import settings_of
    from evalkit.report.humans_view import compute_agreement

    judge_human = run.agreement(by="split", kind="pairwise", relation="judge-human")
    assert set(judge_human["relation"]) == {"judge-human"}
    assert set(run.agreement(by="all", relation="human-human")["relation"]) == {"human-human"}
    shown = compute_agreement(run.verdicts, run.records, settings_of(run.records)).stats
    expected = {(s.source_x, s.source_y, s.group, s.measure): s for s in shown if s.relation == "judge-human"}
    assert len(judge_human) == len(expected)
    for row in judge_human.itertuples():
        stat = expected[(row.source_x, row.source_y, row.group, row.measure)]
        got = (row.value, row.ci_low, row.ci_high)
        assert got == pytest.approx((stat.value, stat.ci_low, stat.ci_high), nan_ok=True)


def test_an_unknown_relation_is_named_not_an_empty_table(run: Run) -> None:
    with pytest.raises(ConfigError, match="unknown relation 'judge_human'; choose one of: judge-human"):
        run.agreement(relation="judge_human")  # type: ignore[arg-type]
