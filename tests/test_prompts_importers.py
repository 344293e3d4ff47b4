"""Importers for public prompt formats, checked on the real files in ../shared/data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit.errors import ConfigError
from evalkit.prompts import alpaca_eval_prompt_id, load_prompt_set


def test_mt_bench_questions(shared_data: Path) -> None:
    path = shared_data / "mt_bench" / "question.jsonl"
    prompt_set = load_prompt_set(path, format="mt_bench")
    assert len(prompt_set) == 80
    first = prompt_set.prompts[0]
    assert first.id == "81" and first.category == "writing" and len(first.turns) == 2
    assert first.metadata == {"source": "mt_bench"} and first.reference is None
    reasoning = next(p for p in prompt_set if p.id == "101")
    assert reasoning.category == "reasoning"
    assert reasoning.reference == ("You are in second place.", "Uncertain.")
    partial = next(p for p in prompt_set if p.id == "103")
    assert partial.reference == ("Thomas may work at a hospital.", ""), "an empty entry means no reference"
    assert {p.category for p in prompt_set} == {
        "writing",
        "roleplay",
        "reasoning",
        "math",
        "coding",
        "extraction",
        "stem",
        "humanities",
    }
    assert load_prompt_set(path).prompts == prompt_set.prompts, "auto detects MT-Bench"


def test_vicuna_bench_questions_share_the_mt_bench_format(shared_data: Path) -> None:
    prompt_set = load_prompt_set(shared_data / "mt_bench" / "vicuna_bench_question.jsonl")
    assert len(prompt_set) == 80 and all(len(p.turns) == 1 for p in prompt_set)


def test_alpaca_eval_model_outputs(shared_data: Path) -> None:
    path = shared_data / "alpaca_eval" / "results" / "alpaca-7b" / "model_outputs.json"
    prompt_set = load_prompt_set(path, format="alpaca_eval")
    assert len(prompt_set) == 805
    first = prompt_set.prompts[0]
    instruction = "What are the names of some famous actors that started their careers on Broadway?"
    assert first.turns == (instruction,) and first.category == "helpful_base"
    assert first.id == alpaca_eval_prompt_id(instruction)
    assert first.metadata == {"source": "alpaca_eval"}, "model outputs are not prompt facts"
    assert {p.category for p in prompt_set} == {"helpful_base", "koala", "oasst", "selfinstruct", "vicuna"}
    assert load_prompt_set(path).prompts == prompt_set.prompts, "auto detects AlpacaEval"


def test_alpaca_eval_ids_match_across_models(shared_data: Path) -> None:
    results = shared_data / "alpaca_eval" / "results"
    ids_a = {p.id for p in load_prompt_set(results / "alpaca-7b" / "model_outputs.json")}
    ids_b = {p.id for p in load_prompt_set(results / "gpt4_1106_preview" / "model_outputs.json")}
    assert ids_a == ids_b and len(ids_a) == 805


def test_just_eval_outputs(shared_data: Path) -> None:
    path = shared_data / "just_eval" / "outputs" / "zephyr-7b-beta.to_eval.json"
    prompt_set = load_prompt_set(path, format="just_eval")
    assert len(prompt_set) == 1000
    first = prompt_set.prompts[0]
    assert first.id == "0" and first.category == "regular"
    assert first.metadata["source_id"] == "alpaca_eval-0" and first.metadata["dataset"] == "helpful_base"
    assert "output" not in first.metadata and "generator" not in first.metadata
    assert {p.category for p in prompt_set} == {"regular", "safety"}
    assert load_prompt_set(path).prompts == prompt_set.prompts, "auto detects just-eval"


def test_wrong_format_names_the_missing_field(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "a", "prompt": "x"}) + "\n")
    with pytest.raises(ConfigError) as info:
        load_prompt_set(path, format="mt_bench")
    assert str(info.value).startswith(f"{path}:1: field 'question_id': missing from a MT-Bench entry")
    with pytest.raises(ConfigError, match="unknown prompt format 'lmsys'"):
        load_prompt_set(path, format="lmsys")  # type: ignore[arg-type]


def test_alpaca_eval_id_is_stable_and_whitespace_insensitive() -> None:
    assert alpaca_eval_prompt_id("Hello") == alpaca_eval_prompt_id("  Hello\n")
    assert alpaca_eval_prompt_id("Hello") != alpaca_eval_prompt_id("Hello!")
    assert alpaca_eval_prompt_id("Hello").startswith("alpaca_eval-")
