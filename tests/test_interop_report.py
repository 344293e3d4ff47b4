"""Imported verdicts in the HTML report: AlpacaEval's length-controlled rate and its extreme flag."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evalkit.interop import import_run
from evalkit.report import build_report
from evalkit.runner.rundir import RunDir

MODELS = ("FuseChat-Llama-3.2-3B-Instruct", "claude-2.1", "alpaca-7b_concise")


def test_report_shows_alpaca_eval_length_control(shared_data: Path, tmp_path: Path):
    results = shared_data / "alpaca_eval" / "results"
    if not results.is_dir():
        pytest.skip(f"AlpacaEval reference data not found at {results}")
    run = import_run("alpaca_eval", [results / m for m in MODELS], tmp_path / "run")
    html = build_report(
        RunDir(run, create=False).load_records(), tmp_path / "report.html", n_boot=50
    ).read_text()
    assert "AlpacaEval LC vs gpt4_1106_preview" in html
    assert "Instruction difficulty: estimated from 2 other systems" in html
    board = html[html.index('<section id="leaderboard"') :]
    rows = {m: re.search(rf"<td class=\"strong\">{re.escape(m)}</td>.*?</tr>", board, re.S) for m in MODELS}
    assert all(rows.values())
    flagged = {m for m, row in rows.items() if row and "extreme correction" in row.group(0)}
    assert flagged == {"claude-2.1", "alpaca-7b_concise"}


def test_report_has_a_win_rate_matrix_and_sortable_leaderboard(shared_data: Path, tmp_path: Path):
    results = shared_data / "alpaca_eval" / "results"
    if not results.is_dir():
        pytest.skip(f"AlpacaEval reference data not found at {results}")
    run = import_run("alpaca_eval", [results / m for m in MODELS], tmp_path / "run")
    html = build_report(
        RunDir(run, create=False).load_records(), tmp_path / "report.html", n_boot=20
    ).read_text()
    assert 'class="grid-table stats sortable"' in html and "Sort by this column" in html
    assert (
        "Win rate against length difference" in html
        and 'aria-label="Win rate against length difference"' in html
    )
    matrix = html[html.index('class="grid-table stats win-matrix"') :]
    matrix = matrix[: matrix.index("</table>")]
    rows = {
        m: re.search(rf"<tr><th>{re.escape(m)}</th>(.*?)</tr>", matrix, re.S)
        for m in (*MODELS, "gpt4_1106_preview")
    }
    fuse = rows["FuseChat-Llama-3.2-3B-Instruct"]
    baseline = rows["gpt4_1106_preview"]
    assert fuse and baseline
    assert "52.9%" in fuse.group(1) and "47.1%" in baseline.group(
        1
    )  # discrete win rate, seen from both sides
    assert matrix.count("—") == 6 + 4  # candidates never met each other; the diagonal


def test_length_curve_rises_with_length_for_a_length_biased_judge(shared_data: Path, tmp_path: Path):
    from evalkit.report.leaderboard_view import LENGTH_BINS, length_curve
    from evalkit.stats import reconcile

    results = shared_data / "alpaca_eval" / "results"
    if not results.is_dir():
        pytest.skip(f"AlpacaEval reference data not found at {results}")
    records = RunDir(
        import_run("alpaca_eval", [results / "claude-2.1"], tmp_path / "run"), create=False
    ).load_records()
    [(system, xs, ys)] = length_curve(reconcile(records.judgments), "gpt4_1106_preview", records.responses)
    assert system == "claude-2.1" and len(xs) == len(ys) == LENGTH_BINS
    assert xs == sorted(xs) and ys[-1] > ys[0] + 0.1
