"""Reproduce published AlpacaEval leaderboard numbers from their per-example annotations.

What matches, and how (all derived from the data in ../shared/data/alpaca_eval):

* ``preference`` is a float in [1, 2] (as a string in some files): 2 = the candidate
  (``generator_2``) is better, 1 = the baseline (``generator_1``) is better; 1.5 is a draw.
  AlpacaEval 1 files also hold 0 for a draw and None for a failed annotation.
* AlpacaEval 1 (``alpaca_eval_gpt4``): the published ``win_rate`` is
  (n_wins + n_draws / 2) / n_total with None rows left out of n_total. That is exactly our
  discrete ``win_rate`` with None as an unresolved verdict, and the counts match too.
* AlpacaEval 2 (``weighted_alpaca_eval_gpt4_turbo``): ``preference`` is continuous (the judge's
  token probability), and the published ``win_rate`` is mean(preference - 1). Giving each
  judgment probabilities {a: p - 1, b: 2 - p}, our ``expected_win_rate`` reproduces it exactly;
  the published ``discrete_win_rate`` (> 1.5 win, == 1.5 draw) is our ``win_rate``.
* ``standard_error`` is the ddof=1 standard error of the per-item scores. We publish a
  percentile bootstrap interval instead; with one verdict per prompt its half-width / 1.96
  should land close to that standard error (checked to within 10%).
* ``length_controlled_winrate`` comes from AlpacaEval's own GLM (which also models instruction
  difficulty and is fitted across many models), so our simpler length-controlled win rate
  does not reproduce its value; we only check that it moves away from the raw win rate in the
  same direction as the published one.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from evalkit.interop import import_run
from evalkit.records import Judgment, Response
from evalkit.runner.meta import RunRecords
from evalkit.runner.rundir import RunDir
from evalkit.stats import WinRate, length_controlled_win_rate, reconcile, win_rates
from evalkit.stats.intervals import wilson_interval

V1 = "alpaca_eval_gpt4"
V2 = "weighted_alpaca_eval_gpt4_turbo"
CASES = [
    (V1, "claude-2"),
    (V1, "alpaca-7b"),
    (V2, "FuseChat-Llama-3.2-3B-Instruct"),
    (V2, "gpt4_1106_preview"),
    (V2, "claude-2.1"),
    (V2, "alpaca-7b_concise"),
]


@pytest.fixture(scope="module")
def imported(alpaca_root: Path, tmp_path_factory: pytest.TempPathFactory) -> RunRecords:
    """Everything in the shared AlpacaEval data, through the import verb's function."""
    run = import_run("alpaca_eval", [alpaca_root], tmp_path_factory.mktemp("alpaca") / "run")
    return RunDir(run, create=False).load_records()


def load_annotations(
    records: RunRecords, annotator: str, model: str
) -> tuple[tuple[Judgment, ...], tuple[Response, ...]]:
    """One model's imported judgments (candidate = model_a) and all imported responses."""
    judgments = tuple(
        j for j in records.judgments if j.source == f"import:{annotator}" and j.model_a == model
    )
    return judgments, records.responses


def published_row(root: Path, annotator: str, model: str) -> dict[str, str]:
    with (root / "leaderboards" / f"{annotator}_leaderboard.csv").open(newline="") as handle:
        return next(row for row in csv.DictReader(handle) if row[""] == model)


@pytest.fixture(scope="module")
def alpaca_root(shared_data: Path) -> Path:
    root = shared_data / "alpaca_eval"
    if not root.is_dir():
        pytest.skip(f"AlpacaEval reference data not found at {root}")
    return root


def _ours(records: RunRecords, root: Path, annotator: str, model: str) -> tuple[WinRate, dict[str, str]]:
    judgments, _ = load_annotations(records, annotator, model)
    [rate] = win_rates(reconcile(judgments), {}, seed=0)
    return rate, published_row(root, annotator, model)


@pytest.mark.parametrize(("annotator", "model"), CASES)
def test_counts_match_leaderboard(imported: RunRecords, alpaca_root: Path, annotator: str, model: str):
    rate, row = _ours(imported, alpaca_root, annotator, model)
    assert (rate.wins, rate.losses, rate.ties, rate.n) == (
        int(row["n_wins"]),
        int(row["n_wins_base"]),
        int(row["n_draws"]),
        int(row["n_total"]),
    )


@pytest.mark.parametrize(("annotator", "model"), CASES)
def test_win_rate_matches_leaderboard(imported: RunRecords, alpaca_root: Path, annotator: str, model: str):
    rate, row = _ours(imported, alpaca_root, annotator, model)
    if annotator == V1:
        assert rate.win_rate * 100 == pytest.approx(float(row["win_rate"]), abs=1e-9)
        assert math.isnan(rate.expected_win_rate)  # discrete preferences carry no probabilities
    else:
        assert rate.win_rate * 100 == pytest.approx(float(row["discrete_win_rate"]), abs=1e-9)
        assert rate.expected_win_rate * 100 == pytest.approx(float(row["win_rate"]), abs=1e-9)


def test_failed_annotation_is_unresolved_not_scored(imported: RunRecords, alpaca_root: Path):
    rate, row = _ours(imported, alpaca_root, V1, "claude-2")
    assert rate.unresolved == 1
    assert rate.n + rate.unresolved == 805 and rate.n == int(row["n_total"])


@pytest.mark.parametrize(("annotator", "model"), CASES)
def test_bootstrap_interval_agrees_with_published_standard_error(
    imported: RunRecords, alpaca_root: Path, annotator: str, model: str
):
    rate, row = _ours(imported, alpaca_root, annotator, model)
    low, high = (
        (rate.ci_low, rate.ci_high) if annotator == V1 else (rate.expected_ci_low, rate.expected_ci_high)
    )
    published = float(row["standard_error"])
    if published == 0.0:  # a model against itself: every replicate equal, so Wilson at n, not zero width
        rate_value = rate.win_rate if annotator == V1 else rate.expected_win_rate
        assert (low, high) == pytest.approx(wilson_interval(rate_value, rate.n))
        return
    assert (high - low) / 2 / 1.96 * 100 == pytest.approx(published, rel=0.1, abs=1e-12)


@pytest.mark.parametrize(("annotator", "model"), [case for case in CASES if case[1] != "gpt4_1106_preview"])
def test_length_control_moves_like_the_published_one(
    imported: RunRecords, alpaca_root: Path, annotator: str, model: str
):
    judgments, responses = load_annotations(imported, annotator, model)
    verdicts = reconcile(judgments)
    [lc] = length_controlled_win_rate(verdicts, responses, n_boot=0)
    [raw] = win_rates(verdicts, {}, n_boot=0)
    row = published_row(alpaca_root, annotator, model)
    published_shift = float(row["length_controlled_winrate"]) - float(row["win_rate"])
    assert (lc.win_rate - raw.win_rate) * published_shift > 0


def test_self_comparison_is_exactly_even(imported: RunRecords):
    judgments, responses = load_annotations(imported, V2, "gpt4_1106_preview")
    verdicts = reconcile(judgments)
    [rate] = win_rates(verdicts, {})
    [lc] = length_controlled_win_rate(verdicts, responses, n_boot=100)
    assert (rate.win_rate, rate.expected_win_rate) == (0.5, 0.5)
    assert (rate.ci_low, rate.ci_high) == pytest.approx(wilson_interval(0.5, rate.n))  # never zero width
    assert lc.win_rate == pytest.approx(0.5)
