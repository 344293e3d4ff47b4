"""just-eval outputs (the shared 1,000-item files) and multi-aspect scores through import and export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evalkit.api import load_run
from evalkit.errors import ConfigError
from evalkit.interop import export_run, import_run

ASPECTS = ("helpfulness", "clarity", "factuality", "depth", "engagement")


@pytest.fixture(scope="module")
def outputs(shared_data: Path) -> Path:
    folder = shared_data / "just_eval" / "outputs"
    if not folder.is_dir():
        pytest.skip(f"just-eval outputs not found at {folder}")
    return folder


def scores_file(outputs: Path, tmp_path: Path, *, bad: Any = None) -> Path:
    """A just-eval score file for the first three gpt-4-0613 items."""
    items = json.loads((outputs / "gpt-4-0613.to_eval.json").read_text())[:3]
    for n, item in enumerate(items):
        item["parsed_result"] = {a: {"reason": f"{a} ok", "score": str(5 - n)} for a in ASPECTS}
    items[2]["parsed_result"]["depth"]["score"] = "N/A" if bad is None else bad
    path = tmp_path / "gpt-4-0613.score_multi.json"
    path.write_text(json.dumps(items))
    return path


def test_outputs_and_scores_import(outputs: Path, tmp_path: Path):
    path = import_run("just_eval", [outputs, scores_file(outputs, tmp_path)], tmp_path / "run", judge="gpt-4")
    run = load_run(path)
    systems = {r.system for r in run.records.responses}
    assert systems == {f.name.removesuffix(".to_eval.json") for f in outputs.glob("*.to_eval.json")}
    assert {"Llama-2-7b-chat-hf", "gpt-4-0613"} <= systems
    assert len(run.records.prompts) == 1000
    assert sum(1 for p in run.records.prompts if p.metadata.get("dataset") == "lima") == 300
    grades = sorted(run.records.grades, key=lambda g: g.prompt_id)
    assert [g.score for g in grades] == [5.0, 4.0, 3.0]
    assert grades[2].aspects is not None and "depth" not in grades[2].aspects  # "N/A" is unread
    assert {g.source for g in grades} == {"import:gpt-4"}
    [table] = run.grades()
    assert table.system == "gpt-4-0613" and table.mean_score == pytest.approx(4.0)


def test_export_round_trips(outputs: Path, tmp_path: Path):
    scores = scores_file(outputs, tmp_path, bad="2")
    run = import_run("just_eval", [outputs / "gpt-4-0613.to_eval.json", scores], tmp_path / "run")
    out = tmp_path / "out"
    export_run(run, "just_eval", out)
    fields = ("id", "instruction", "output", "dataset", "source_id", "datasplit", "category")
    ours = json.loads((out / "gpt-4-0613.to_eval.json").read_text())
    theirs = json.loads((outputs / "gpt-4-0613.to_eval.json").read_text())
    assert [[r[f] for f in fields] for r in ours] == [[r[f] for f in fields] for r in theirs]
    scored = json.loads((out / "gpt-4-0613.score_multi.json").read_text())
    original = json.loads(scores.read_text())
    assert [r["parsed_result"] for r in scored] == [r["parsed_result"] for r in original]


def test_score_out_of_range_names_file_record_and_field(outputs: Path, tmp_path: Path):
    with pytest.raises(ConfigError, match=r"score_multi.json: record 3: field 'parsed_result.depth.score'"):
        import_run("just_eval", [scores_file(outputs, tmp_path, bad="9")], tmp_path / "run")


def test_missing_output_is_named(tmp_path: Path):
    path = tmp_path / "m.to_eval.json"
    path.write_text(json.dumps([{"id": 0, "instruction": "Hi", "generator": "m"}]))
    with pytest.raises(ConfigError, match=r"m.to_eval.json: record 1: field 'output': missing"):
        import_run("just_eval", [path], tmp_path / "run")
