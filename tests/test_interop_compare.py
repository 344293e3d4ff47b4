"""`evalkit compare`: several runs, one leaderboard over the prompts every system answered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit.api import load_run
from evalkit.cli import main
from evalkit.errors import ConfigError
from evalkit.interop import import_run
from evalkit.interop.compare import compare_runs

V2 = "weighted_alpaca_eval_gpt4_turbo"


@pytest.fixture(scope="module")
def runs(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """One imported AlpacaEval 2 run per model, all judged against gpt4_1106_preview."""
    results = shared_data / "alpaca_eval" / "results"
    if not results.is_dir():
        pytest.skip(f"AlpacaEval reference data not found at {results}")
    folder = tmp_path_factory.mktemp("runs")
    return [
        import_run("alpaca_eval", [results / model / V2 / "annotations.json"], folder / model)
        for model in ("FuseChat-Llama-3.2-3B-Instruct", "claude-2.1", "alpaca-7b_concise")
    ]


def test_compare_keeps_common_prompts_and_says_what_was_dropped(runs: list[Path], tmp_path: Path):
    out = compare_runs(runs, tmp_path / "joined", report=False)
    run = load_run(out)
    meta = json.loads((out / "run.json").read_text())
    assert meta["imported"]["dropped_prompts"] == {"not answered by alpaca-7b_concise": 1}
    assert meta["prompt_set"].startswith("804 prompts common to all systems (1 of 805 dropped")
    assert meta["baseline"] == "gpt4_1106_preview"
    assert len(run.records.prompts) == 804
    rates = {r.model_a: r for r in run.win_rates()}
    assert set(rates) == {"FuseChat-Llama-3.2-3B-Instruct", "claude-2.1", "alpaca-7b_concise"}
    assert all(r.n + r.unresolved == 804 for r in rates.values())
    board = list(run.leaderboard()["system"])
    assert board[0] == "FuseChat-Llama-3.2-3B-Instruct" and board[-1] == "alpaca-7b_concise"


def test_compare_verb_writes_the_report(runs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["compare", *map(str, runs[:2]), "-o", str(tmp_path / "joined")]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "805 prompts common to all systems (0 of 805 dropped)" in printed
    html = (tmp_path / "joined" / "report.html").read_text()
    assert "claude-2.1" in html and "FuseChat-Llama-3.2-3B-Instruct" in html


def test_compare_refuses_conflicting_answers(runs: list[Path], tmp_path: Path):
    first = json.loads((runs[0] / "prompts.jsonl").read_text().splitlines()[0])
    changed = tmp_path / "changed.json"
    row = {"instruction": first["turns"][0], "output": "a different answer", "generator": "gpt4_1106_preview"}
    changed.write_text(json.dumps([row]))
    conflicting = import_run("alpaca_eval", [changed], tmp_path / "conflicting")
    with pytest.raises(ConfigError, match=r"'gpt4_1106_preview' answered prompt .* differently"):
        compare_runs([runs[0], conflicting], tmp_path / "joined", report=False)
    lonely = tmp_path / "lonely.json"
    lonely.write_text(json.dumps([{"instruction": "Only here.", "output": "y", "generator": "other"}]))
    other = import_run("alpaca_eval", [lonely], tmp_path / "other")
    with pytest.raises(ConfigError, match="no prompt was answered by every system"):
        compare_runs([runs[0], other], tmp_path / "none", report=False)
    with pytest.raises(ConfigError, match="at least two"):
        compare_runs(runs[:1], tmp_path / "one")
