"""Arena-Hard files through import and export: two games per judgment, "A>>B"-style labels."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from evalkit.api import load_run
from evalkit.errors import ConfigError
from evalkit.interop import export_run, import_run

SCORES = [("B>>A", "A>B"), ("A>B", "B>A"), ("A=B", "B>A"), ("B>A", None)]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def arena_dir(tmp_path: Path) -> Path:
    root = tmp_path / "arena-hard-v0.1"
    ids = [f"q{i}" for i in range(len(SCORES))]
    questions = [
        {"question_id": q, "category": "arena-hard-v0.1", "cluster": "c", "turns": [{"content": f"Ask {q}"}]}
        for q in ids
    ]
    write_jsonl(root / "question.jsonl", questions)
    for model in ("gpt-4-0314", "llama-3-8b"):
        rows = [
            {
                "question_id": q,
                "answer_id": f"{model}-{q}",
                "model_id": model,
                "choices": [{"index": 0, "turns": [{"content": f"{model} answers {q}", "token_len": 4}]}],
            }
            for q in ids
        ]
        write_jsonl(root / "model_answer" / f"{model}.jsonl", rows)
    judgments = [
        {
            "question_id": q,
            "model": "llama-3-8b",
            "judge": "gpt-4-1106-preview",
            "games": [{"score": g1, "judgment": "..."}, {"score": g2, "judgment": "..."}],
        }
        for q, (g1, g2) in zip(ids, SCORES, strict=True)
    ]
    write_jsonl(root / "model_judgment" / "gpt-4-1106-preview" / "llama-3-8b.jsonl", judgments)
    return root


def test_games_become_both_orders(arena_dir: Path, tmp_path: Path):
    run = load_run(import_run("arena_hard", [arena_dir], tmp_path / "run", baseline="gpt-4-0314"))
    judgments = run.records.judgments
    assert {(j.model_a, j.model_b) for j in judgments} == {("llama-3-8b", "gpt-4-0314")}
    first = [j for j in judgments if j.prompt_id == "q0"]
    # game 1 shows the baseline as A: "B>>A" means the model is much better
    assert [(j.order, j.outcome, j.label) for j in first] == [("ba", "a", "B>>A"), ("ab", "a", "A>B")]
    [rate] = [r for r in run.win_rates() if r.group == "all"]
    assert (rate.wins, rate.ties, rate.losses, rate.unresolved) == (1, 1, 1, 1)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["baseline"] == "gpt-4-0314"
    assert len(run.records.responses) == 8 and run.records.prompts[0].metadata["cluster"] == "c"


def test_export_round_trips(arena_dir: Path, tmp_path: Path):
    run = import_run("arena_hard", [arena_dir], tmp_path / "run", baseline="gpt-4-0314")
    out = tmp_path / "out"
    export_run(run, "arena_hard", out)
    assert read_jsonl(out / "question.jsonl") == read_jsonl(arena_dir / "question.jsonl")
    name = "model_judgment/gpt-4-1106-preview/llama-3-8b.jsonl"
    ours, theirs = read_jsonl(out / name), read_jsonl(arena_dir / name)
    assert [[g["score"] for g in r["games"]] for r in ours] == [
        [g["score"] for g in r["games"]] for r in theirs
    ]
    assert {r["baseline"] for r in ours} == {"gpt-4-0314"}
    again = load_run(import_run("arena_hard", [out], tmp_path / "again"))  # the baseline is now in the file
    assert again.records.judgments == load_run(run).records.judgments


def test_v2_layout(tmp_path: Path):
    question = write_jsonl(tmp_path / "question.jsonl", [{"uid": "u1", "category": "hard", "prompt": "Q?"}])
    answer = {
        "uid": "u1",
        "model": "m",
        "messages": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": {"answer": "A."}}],
    }
    answers = write_jsonl(tmp_path / "model_answer" / "m.jsonl", [answer])
    judgment = {
        "uid": "u1",
        "model": "m",
        "baseline": "o3",
        "judge": "gpt-4.1",
        "games": [{"score": "A>B"}] * 2,
    }
    judged = write_jsonl(tmp_path / "model_judgment" / "gpt-4.1" / "m.jsonl", [judgment])
    run = load_run(import_run("arena_hard", [question, answers, judged], tmp_path / "run"))
    assert run.records.responses[0].text == "A."
    assert [j.outcome for j in run.records.judgments] == ["b", "a"]  # A = o3 in game 1, A = m in game 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"games": [{"score": "A>>>B"}, {"score": "A>B"}]}, "games[1].score"),
        ({"games": [{"score": "A>B"}]}, "games"),
        ({"model": 3}, "model"),
    ],
)
def test_bad_judgment_names_file_record_and_field(tmp_path: Path, change: dict[str, Any], field: str):
    good = {"question_id": "q", "model": "m", "judge": "j", "games": [{"score": "A>B"}, {"score": "B>A"}]}
    path = write_jsonl(tmp_path / "m.jsonl", [good, {**good, **change}])
    with pytest.raises(ConfigError, match=re.escape(f"m.jsonl: record 2: field '{field}'")):
        import_run("arena_hard", [path], tmp_path / "run", baseline="b")


def test_missing_baseline_says_what_to_do(tmp_path: Path):
    path = write_jsonl(tmp_path / "m.jsonl", [{"question_id": "q", "model": "m", "games": []}])
    with pytest.raises(ConfigError, match=r"record 1: field 'baseline': missing; pass --baseline"):
        import_run("arena_hard", [path], tmp_path / "run")
