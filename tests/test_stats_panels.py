from __future__ import annotations

from pathlib import Path

import pytest

import evalkit
from evalkit.records import Outcome
from evalkit.stats import Verdict, aggregate_samples, combine_panel, run_verdicts
from tests.pipeline_helpers import write_prompt_set, write_run_config


def verdict(source: str, outcome: Outcome | None, *, prompt: str = "p1", sample: int = 0,
            probabilities: dict[Outcome, float] | None = None) -> Verdict:  # fmt: skip
    return Verdict(
        prompt, "x", "y", source, sample, outcome, 2 if outcome else 0, False, False, probabilities
    )


def test_majority_of_three_judges() -> None:
    votes = [verdict("llm:j1", "a"), verdict("llm:j2", "a"), verdict("llm:j3", "b")]
    [panel] = combine_panel(votes, ["llm:j1", "llm:j2", "llm:j3"])
    assert (panel.source, panel.outcome, panel.inconsistent) == ("panel:panel", "a", True)


def test_split_vote_is_a_tie_and_unresolved_members_do_not_vote() -> None:
    [split] = combine_panel([verdict("llm:j1", "a"), verdict("llm:j2", "b")], ["llm:j1", "llm:j2"])
    assert split.outcome == "tie"
    [one_vote] = combine_panel([verdict("llm:j1", "b"), verdict("llm:j2", None)], ["llm:j1", "llm:j2"])
    assert one_vote.outcome == "b"
    [nobody] = combine_panel([verdict("llm:j1", None), verdict("llm:j2", None)], ["llm:j1", "llm:j2"])
    assert nobody.outcome is None  # nothing is guessed


def test_mean_probability_can_overrule_the_majority() -> None:
    votes = [
        verdict("llm:j1", "a", probabilities={"a": 0.55, "b": 0.45, "tie": 0.0}),
        verdict("llm:j2", "a", probabilities={"a": 0.55, "b": 0.45, "tie": 0.0}),
        verdict("llm:j3", "b", probabilities={"a": 0.0, "b": 1.0, "tie": 0.0}),
    ]
    [majority] = combine_panel(votes, ["llm:j1", "llm:j2", "llm:j3"], method="majority")
    [mean] = combine_panel(votes, ["llm:j1", "llm:j2", "llm:j3"], method="mean_probability")
    assert majority.outcome == "a"
    assert mean.outcome == "b"
    assert mean.probabilities == pytest.approx({"a": 1.1 / 3, "b": 1.9 / 3, "tie": 0.0})


def test_repeated_samples_collapse_to_one_verdict_per_judge() -> None:
    samples = [
        verdict("llm:j1", "a", sample=0),
        verdict("llm:j1", "a", sample=1),
        verdict("llm:j1", "tie", sample=2),
    ]
    [combined] = aggregate_samples(samples)
    assert (combined.outcome, combined.sample) == ("a", 0)
    # In a panel each judge votes once, however many samples it drew.
    votes = [*samples, verdict("llm:j2", "b"), verdict("llm:j3", "b")]
    [panel] = combine_panel(votes, ["llm:j1", "llm:j2", "llm:j3"])
    assert panel.outcome == "b"


def test_run_with_two_judges_and_a_panel_keeps_every_verdict(tmp_path: Path) -> None:
    write_prompt_set(tmp_path, 4)
    path = write_run_config(
        tmp_path,
        judges=[
            {
                "judge": "lima-pairwise",
                "model": "fake/script",
                "name": "says-a",
                "options": {"responses": ["A"]},
            },
            {
                "judge": "lima-pairwise",
                "model": "fake/script",
                "name": "says-b",
                "options": {"responses": ["B"]},
                "samples": 2,
            },
        ],
        panel={"method": "majority"},
    )
    run = evalkit.run(path, progress=False)
    assert len(run.records.judgments) == 4 * 2 + 4 * 2 * 2  # every individual verdict is stored
    sources = {v.source for v in run.verdicts}
    assert sources == {"llm:says-a", "llm:says-b", "panel:panel"}
    assert len(run_verdicts(run.records.judgments, panel="majority")) == 3 * 4
    panel_rates = [w for w in run.win_rates() if w.source == "panel:panel"]
    assert panel_rates and panel_rates[0].n == 4
    assert "panel:panel" in (run.path / "report.html").read_text()
