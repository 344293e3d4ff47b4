"""AlpacaEval files through `evalkit import`, `export` and `leaderboard`, against the published CSVs."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from evalkit.api import load_run
from evalkit.cli import main
from evalkit.errors import ConfigError
from evalkit.interop import export_run, import_run
from evalkit.interop.leaderboard import alpaca_eval_leaderboard
from evalkit.runner.rundir import RunDir

PUBLISHED_FIELDS = (
    "win_rate",
    "standard_error",
    "n_wins",
    "n_wins_base",
    "n_draws",
    "n_total",
    "discrete_win_rate",
    "avg_length",
)


@pytest.fixture(scope="module")
def alpaca_root(shared_data: Path) -> Path:
    root = shared_data / "alpaca_eval"
    if not root.is_dir():
        pytest.skip(f"AlpacaEval reference data not found at {root}")
    return root


@pytest.fixture(scope="module")
def imported(alpaca_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every model, annotation file and leaderboard in the shared data, through the CLI verb."""
    run = tmp_path_factory.mktemp("alpaca") / "run"
    assert main(["import", "alpaca_eval", str(alpaca_root), "--to", str(run)]) == 0
    return run


def published(root: Path) -> dict[tuple[str, str], dict[str, str]]:
    rows = {}
    for path in sorted((root / "leaderboards").glob("*_leaderboard.csv")):
        annotator = path.stem.removesuffix("_leaderboard")
        with path.open(newline="") as handle:
            rows.update({(annotator, row[""]): row for row in csv.DictReader(handle)})
    return rows


def test_every_published_field_matches(alpaca_root: Path, imported: Path):
    expected = published(alpaca_root)
    rows = alpaca_eval_leaderboard(RunDir(imported, create=False).load_records())
    ours = {(row.source.removeprefix("import:"), row.model): row for row in rows}
    assert set(ours) == set(expected)
    for key, row in expected.items():
        for field in PUBLISHED_FIELDS:
            assert getattr(ours[key], field) == pytest.approx(float(row[field]), abs=1e-6), (key, field)


def test_leaderboard_verb_prints_the_published_columns(
    alpaca_root: Path, imported: Path, capsys: pytest.CaptureFixture[str]
):
    source = "import:weighted_alpaca_eval_gpt4_turbo"
    assert main(["leaderboard", str(imported), "--format", "alpaca_eval", "--source", source]) == 0
    printed = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    expected = published(alpaca_root)
    header = (
        (alpaca_root / "leaderboards" / "weighted_alpaca_eval_gpt4_turbo_leaderboard.csv").open().readline()
    )
    assert set(printed[0]) == set(header.strip().split(","))
    for row in printed:
        want = expected[("weighted_alpaca_eval_gpt4_turbo", row[""])]
        assert row["mode"] == want["mode"]
        for field in PUBLISHED_FIELDS:
            assert float(row[field]) == pytest.approx(float(want[field]), abs=1e-6)


def test_run_json_describes_the_import(imported: Path):
    meta = json.loads((imported / "run.json").read_text())
    assert meta["status"] == "complete" and meta["origin"].startswith("evalkit import alpaca_eval")
    assert set(meta["system_models"]) >= {"claude-2", "text_davinci_003", "gpt4_1106_preview"}
    assert meta["imported"]["baselines"] == {
        "import:alpaca_eval_gpt4": "text_davinci_003",
        "import:weighted_alpaca_eval_gpt4_turbo": "gpt4_1106_preview",
    }
    assert {j["source"] for j in meta["judges"]} == set(meta["imported"]["baselines"])


def test_conflicting_outputs_are_reported(imported: Path):
    """AlpacaEval 1's annotations judged older text_davinci_003 answers than its outputs file holds."""
    meta = json.loads((imported / "run.json").read_text())
    assert meta["imported"]["conflicting_responses"] == {"text_davinci_003": 785}


def test_imported_verdicts_are_ordinary_records(imported: Path):
    run = load_run(imported)
    judgment = next(j for j in run.records.judgments if j.model_a == "claude-2.1")
    assert judgment.source == "import:weighted_alpaca_eval_gpt4_turbo"
    assert judgment.provenance is not None and judgment.provenance.judge == "weighted_alpaca_eval_gpt4_turbo"
    assert judgment.probabilities is not None
    failed = [j for j in run.records.judgments if j.model_a == "claude-2" and j.outcome is None]
    assert len(failed) == 1 and failed[0].label == "null" and failed[0].error
    rates = {(r.model_a, r.source): r for r in run.win_rates()}
    claude = rates[("claude-2", "import:alpaca_eval_gpt4")]
    assert (claude.n, claude.unresolved) == (804, 1)


def test_export_round_trips(alpaca_root: Path, imported: Path, tmp_path: Path):
    out = tmp_path / "export"
    assert main(["export", str(imported), "alpaca_eval", "-o", str(out)]) == 0
    for original in sorted((alpaca_root / "results").glob("*/*/annotations.json")):
        written = out / original.relative_to(alpaca_root)
        theirs, ours = json.loads(original.read_text()), json.loads(written.read_text())
        for field in ("instruction", "output_1", "generator_1", "output_2", "generator_2", "preference"):
            assert [row[field] for row in ours] == [row[field] for row in theirs], (original, field)
    for original in sorted((alpaca_root / "results").glob("*/model_outputs.json")):
        written = out / original.relative_to(alpaca_root)
        if original.parent.name != "text_davinci_003":  # see test_conflicting_outputs_are_reported
            assert json.loads(written.read_text()) == json.loads(original.read_text())
    again = import_run("alpaca_eval", [out], tmp_path / "again")
    first = alpaca_eval_leaderboard(RunDir(imported, create=False).load_records())
    second = alpaca_eval_leaderboard(RunDir(again, create=False).load_records())
    assert [(r.model, r.source, r.win_rate, r.standard_error, r.n_total) for r in first] == [
        (r.model, r.source, r.win_rate, r.standard_error, r.n_total) for r in second
    ]


def _annotations(path: Path, preference: object) -> Path:
    row = {
        "instruction": "Say hi.",
        "output_1": "Hi.",
        "generator_1": "base",
        "output_2": "Hello!",
        "generator_2": "cand",
        "preference": 2.0,
    }
    path.write_text(json.dumps([row, {**row, "instruction": "Wave.", "preference": preference}]))
    return path


@pytest.mark.parametrize("preference", ["high", 3.5, True])
def test_bad_preference_names_file_record_and_field(
    tmp_path: Path, preference: object, capsys: pytest.CaptureFixture[str]
):
    path = _annotations(tmp_path / "annotations.json", preference)
    assert main(["import", "alpaca_eval", str(path), "--to", str(tmp_path / "run")]) == 2
    message = capsys.readouterr().err
    assert "annotations.json" in message and "record 2" in message and "'preference'" in message
    assert not (tmp_path / "run" / "run.json").exists()


def test_missing_field_and_unknown_format(tmp_path: Path):
    path = tmp_path / "model_outputs.json"
    path.write_text(json.dumps([{"instruction": "Say hi.", "generator": "m"}]))
    with pytest.raises(ConfigError, match=r"model_outputs.json: record 1: field 'output': missing"):
        import_run("alpaca_eval", [path], tmp_path / "run")
    with pytest.raises(ConfigError, match="unknown format 'alpacaeval'"):
        import_run("alpacaeval", [path], tmp_path / "run")


def test_import_refuses_an_existing_run(tmp_path: Path):
    path = _annotations(tmp_path / "annotations.json", 1.0)
    run = import_run("alpaca_eval", [path], tmp_path / "run")
    with pytest.raises(ConfigError, match="already holds a run"):
        import_run("alpaca_eval", [path], run)
    assert export_run(run, "alpaca_eval", tmp_path / "out")


def test_notebook_equivalents(imported: Path, tmp_path: Path):
    import evalkit

    run = evalkit.load_run(imported)
    table = run.to_pandas("alpaca_eval")
    assert {"win_rate", "standard_error", "avg_length", "length_controlled_winrate"} <= set(table.columns)
    assert len(table) == 6
    fits = run.to_pandas("length_control")
    assert set(fits["extreme"]) == {True, False} and "coefficients" in fits.columns
    written = evalkit.export_run(imported, "arena_hard", tmp_path / "arena")
    assert any(path.name == "question.jsonl" for path in written)


def test_style_leaderboard_verb(imported: Path, capsys: pytest.CaptureFixture[str]):
    source = "import:weighted_alpaca_eval_gpt4_turbo"
    assert main(["leaderboard", str(imported), "--format", "style", "--source", source]) == 0
    printed = capsys.readouterr().out
    assert "Style-controlled ratings" in printed and "sandwich, clustered by prompt" in printed
    assert all(feature in printed for feature in ("length", "headers", "bold", "lists"))
    assert main(["leaderboard", str(imported), "--format", "arena"]) == 2
    assert (
        main(["leaderboard", str(imported), "--format", "style", "--source", source, "--by", "category"]) == 0
    )
    by_category = capsys.readouterr().out
    assert "category helpful_base" in " ".join(by_category.split())
    assert main(["leaderboard", str(imported), "--format", "style", "--by", "topic"]) == 2


def test_leaderboard_details_flag_extreme_corrections(imported: Path, capsys: pytest.CaptureFixture[str]):
    source = "import:weighted_alpaca_eval_gpt4_turbo"
    assert main(["leaderboard", str(imported), "--source", source, "--details"]) == 0
    captured = capsys.readouterr()
    assert "EXTREME" in captured.out and "estimated from 2 other systems" in captured.out
    warned = " ".join(captured.err.split())
    assert "warning: claude-2.1" in warned and "warning: FuseChat" not in warned
