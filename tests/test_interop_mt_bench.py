"""MT-Bench (FastChat llm_judge) files through import and export: two turns, single and pairwise judges."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evalkit.api import load_run
from evalkit.cli import main
from evalkit.errors import ConfigError
from evalkit.interop import export_run, import_run


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def mt_bench_dir(shared_data: Path, tmp_path: Path) -> Path:
    """The shared MT-Bench questions plus answers and judgments in FastChat's layout."""
    root = tmp_path / "mt_bench"
    questions = read_jsonl(shared_data / "mt_bench" / "question.jsonl")
    write_jsonl(root / "question.jsonl", questions)
    ids = [q["question_id"] for q in questions[:4]]
    for model in ("vicuna-13b", "llama-13b"):
        rows = [
            {
                "question_id": qid,
                "answer_id": f"{model}-{qid}",
                "model_id": model,
                "choices": [{"index": 0, "turns": [f"{model} turn 1 on {qid}", f"{model} turn 2 on {qid}"]}],
            }
            for qid in ids
        ]
        write_jsonl(root / "model_answer" / f"{model}.jsonl", rows)
    single = [
        {
            "question_id": qid,
            "model": model,
            "judge": ["gpt-4", "single-v1" if turn == 1 else "single-v1-multi-turn"],
            "judgment": f"Rating: [[{score}]]",
            "score": score,
            "turn": turn,
        }
        for qid in ids
        for model, score in (("vicuna-13b", 7), ("llama-13b", 3 if qid != ids[0] else -1))
        for turn in (1, 2)
    ]
    write_jsonl(root / "model_judgment" / "gpt-4_single.jsonl", single)
    winners = [("model_1", "model_1"), ("model_1", "model_2"), ("tie", "tie"), ("model_2", "error")]
    pair = [
        {
            "question_id": qid,
            "model_1": "vicuna-13b",
            "model_2": "llama-13b",
            "g1_winner": g1,
            "g2_winner": g2,
            "judge": ["gpt-4", "pair-v2" if turn == 1 else "pair-v2-multi-turn"],
            "g1_judgment": "[[A]]",
            "g2_judgment": "[[B]]",
            "turn": turn,
        }
        for qid, (g1, g2) in zip(ids, winners, strict=True)
        for turn in (1, 2)
    ]
    write_jsonl(root / "model_judgment" / "gpt-4_pair.jsonl", pair)
    return root


def test_import_makes_ordinary_records(mt_bench_dir: Path, tmp_path: Path):
    assert main(["import", "mt_bench", str(mt_bench_dir), "--to", str(tmp_path / "run")]) == 0
    run = load_run(tmp_path / "run")
    assert len(run.records.prompts) == 80 and all(len(p.turns) == 2 for p in run.records.prompts)
    answer = next(r for r in run.records.responses if r.system == "llama-13b")
    assert len(answer.outputs) == 2
    grades = [g for g in run.records.grades if g.source == "import:gpt-4/single-v1-multi-turn"]
    assert {g.turn for g in grades} == {2}
    assert sum(1 for g in grades if g.error) == 1  # the -1 score: unread, never scored
    turn_one = {
        r.model_a: r for r in run.win_rates() if r.source == "import:gpt-4/pair-v2" and r.group == "all"
    }
    rate = turn_one["vicuna-13b"]
    # both orders agree: win; inconsistent: tie; tie+tie: tie; one order an error: unresolved
    assert (rate.wins, rate.ties, rate.losses, rate.unresolved) == (1, 2, 0, 1)
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert {j["source"] for j in meta["judges"]} == {
        "import:gpt-4/single-v1",
        "import:gpt-4/single-v1-multi-turn",
        "import:gpt-4/pair-v2",
        "import:gpt-4/pair-v2-multi-turn",
    }


def test_report_builds_on_imported_grades_and_verdicts(mt_bench_dir: Path, tmp_path: Path):
    run = import_run("mt_bench", [mt_bench_dir], tmp_path / "run")
    assert main(["report", str(run)]) == 0
    html = (run / "report.html").read_text()
    assert "import:gpt-4/single-v1-multi-turn" in html and "import:gpt-4/pair-v2" in html


def test_export_round_trips(mt_bench_dir: Path, tmp_path: Path):
    run = import_run("mt_bench", [mt_bench_dir], tmp_path / "run")
    out = tmp_path / "out"
    export_run(run, "mt_bench", out)
    assert read_jsonl(out / "question.jsonl") == read_jsonl(mt_bench_dir / "question.jsonl")
    for name in ("model_answer/vicuna-13b.jsonl", "model_answer/llama-13b.jsonl"):
        ours, theirs = read_jsonl(out / name), read_jsonl(mt_bench_dir / name)
        assert [(r["question_id"], r["choices"]) for r in ours] == [
            (r["question_id"], r["choices"]) for r in theirs
        ]
    for name, fields in (
        ("gpt-4_single.jsonl", ("question_id", "model", "judge", "score", "turn", "judgment")),
        (
            "gpt-4_pair.jsonl",
            ("question_id", "model_1", "model_2", "g1_winner", "g2_winner", "judge", "turn"),
        ),
    ):
        ours, theirs = (read_jsonl(d / "model_judgment" / name) for d in (out, mt_bench_dir))
        assert [[r[f] for f in fields] for r in ours] == [[r[f] for f in fields] for r in theirs]


def test_references_attach_to_questions(shared_data: Path, tmp_path: Path):
    folder = tmp_path / "reference_answer"
    folder.mkdir()
    reference = folder / "gpt-4.jsonl"
    reference.write_text((shared_data / "mt_bench" / "reference_answer_gpt-4.jsonl").read_text())
    run = import_run("mt_bench", [shared_data / "mt_bench" / "question.jsonl", reference], tmp_path / "run")
    prompts = {p.id: p for p in load_run(run).records.prompts}
    assert prompts["101"].reference is not None and len(prompts["101"].reference) == 2
    assert not load_run(run).records.responses  # a reference answer is not a system's answer


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"g1_winner": "maybe"}, "g1_winner"),
        ({"judge": "gpt-4"}, "judge"),
        ({"turn": 0}, "turn"),
    ],
)
def test_bad_pair_judgment_names_file_record_and_field(tmp_path: Path, row: dict[str, Any], field: str):
    good = {
        "question_id": 81,
        "model_1": "x",
        "model_2": "y",
        "g1_winner": "tie",
        "g2_winner": "tie",
        "judge": ["gpt-4", "pair-v2"],
        "turn": 1,
    }
    path = write_jsonl(tmp_path / "gpt-4_pair.jsonl", [good, {**good, **row}])
    with pytest.raises(ConfigError, match=rf"gpt-4_pair.jsonl: record 2: field '{field}'"):
        import_run("mt_bench", [path], tmp_path / "run")


def test_bad_json_line_is_named(tmp_path: Path):
    path = tmp_path / "question.jsonl"
    path.write_text('{"question_id": 1, "turns": ["a"]}\n{"question_id": 2, \n')
    with pytest.raises(ConfigError, match=r"question.jsonl: record 2: not valid JSON"):
        import_run("mt_bench", [path], tmp_path / "run")
