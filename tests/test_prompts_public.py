"""Public prompt sets by name: local copies, the offline message, configs and the notebook.

The Hub is never contacted: every test runs with HF_HUB_OFFLINE=1 and puts the shared
public copies where the loader looks for local files (a temporary EVALKIT_PUBLIC_DIR).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import evalkit
from evalkit.errors import ConfigError, MissingDependencyError
from evalkit.prompts import PUBLIC_SETS, load_prompt_set
from evalkit.prompts.public import local_path
from evalkit.runner.config import load_config
from evalkit.runner.pipeline import load_prompts
from tests.pipeline_helpers import write_run_config


@pytest.fixture
def public_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder of local copies, with the Hub client forced offline."""
    folder = tmp_path / "public"
    monkeypatch.setenv("EVALKIT_PUBLIC_DIR", str(folder))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return folder


def place(name: str, source: Path) -> Path:
    """Link a shared copy to where the loader looks for the named set's file."""
    target = local_path(PUBLIC_SETS[name])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(source)
    return target


def test_alpaca_eval_805_instructions(public_dir: Path, shared_data: Path) -> None:
    place("alpaca_eval", shared_data / "alpaca_eval/results/text_davinci_003/model_outputs.json")
    prompts = load_prompt_set("alpaca_eval")
    assert len(prompts) == PUBLIC_SETS["alpaca_eval"].count == 805
    assert prompts.name == "alpaca_eval"
    assert prompts.version == "tatsu-lab/alpaca_eval@4c70e0d7945730c851d7e43959a080663886c68e"
    assert {"helpful_base", "koala", "oasst", "selfinstruct", "vicuna"} == set(prompts.categories)
    assert all(p.id.startswith("alpaca_eval-") and p.metadata["source"] == "alpaca_eval" for p in prompts)


def test_mt_bench_two_turns_with_references(public_dir: Path, shared_data: Path) -> None:
    place("mt_bench", shared_data / "mt_bench/question.jsonl")
    prompts = load_prompt_set("mt_bench")
    assert len(prompts) == 80
    assert all(p.turns is not None and len(p.turns) == 2 for p in prompts)
    with_reference = [p for p in prompts if p.reference is not None]
    assert len(with_reference) == 39 and all(len(p.reference or ()) == 2 for p in with_reference)
    assert {"math", "coding", "reasoning", "writing"} <= set(prompts.categories)


def test_vicuna_80(public_dir: Path, shared_data: Path) -> None:
    place("vicuna", shared_data / "mt_bench/vicuna_bench_question.jsonl")
    prompts = load_prompt_set("vicuna")
    assert len(prompts) == 80 and prompts.name == "vicuna"
    assert prompts.prompts[0].turns == ("How can I improve my time management skills?",)


def test_lima_keeps_only_the_300_lima_prompts(public_dir: Path, shared_data: Path) -> None:
    # The Hub file is JSONL; the shared copy is a JSON list with the same entries, so it is
    # written out line by line in the temporary folder (never into the project).
    entries = json.loads((shared_data / "just_eval/outputs/gpt-4-0613.to_eval.json").read_text())
    target = local_path(PUBLIC_SETS["lima"])
    target.parent.mkdir(parents=True)
    target.write_text("".join(json.dumps(e) + "\n" for e in entries))
    prompts = load_prompt_set("lima")
    assert len(entries) == 1000 and len(prompts) == 300
    assert {p.metadata["dataset"] for p in prompts} == {"lima"}


def test_arena_hard_v2_questions(public_dir: Path) -> None:
    target = local_path(PUBLIC_SETS["arena_hard"])
    target.parent.mkdir(parents=True)
    rows = [
        {"uid": "a1", "category": "hard_prompt", "subcategory": "coding", "prompt": "Write a parser."},
        {"uid": "b2", "category": "creative_writing", "subcategory": "poem", "prompt": "A sonnet."},
    ]
    target.write_text("".join(json.dumps(r) + "\n" for r in rows))
    prompts = load_prompt_set("arena_hard")
    assert [p.id for p in prompts] == ["a1", "b2"]
    assert prompts.prompts[0].metadata == {"source": "arena_hard", "cluster": "coding"}
    assert prompts.categories == ("hard_prompt", "creative_writing")


def test_offline_without_a_copy_says_which_file_to_put_where(public_dir: Path) -> None:
    pytest.importorskip("huggingface_hub")
    with pytest.raises(ConfigError) as caught:
        load_prompt_set("mt_bench")
    message = str(caught.value)
    expected = public_dir / "mt_bench" / "question.jsonl"
    assert f"put it at {expected} " in message
    assert (
        "https://huggingface.co/spaces/lmsys/mt-bench/resolve/0849e64fb1d840f152573bdd741743e9714eeb0c/"
        "data/mt_bench/question.jsonl" in message
    )


def test_without_the_hub_client_the_error_names_the_extra_and_the_file(
    public_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(MissingDependencyError, match=r"evalkit\[hub\]") as caught:
        load_prompt_set("vicuna")
    assert str(public_dir / "vicuna" / "question.jsonl") in str(caught.value)


def test_a_file_of_the_same_name_wins_over_the_public_set(
    public_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "vicuna.jsonl").write_text('{"id": "x", "prompt": "Mine."}\n')
    monkeypatch.setenv("EVALKIT_PROMPTS_DIR", str(tmp_path / "mine"))
    assert [p.id for p in load_prompt_set("vicuna")] == ["x"]


def test_a_config_names_a_public_set(public_dir: Path, shared_data: Path, tmp_path: Path) -> None:
    place("mt_bench", shared_data / "mt_bench/question.jsonl")
    config = load_config(write_run_config(tmp_path, prompts="mt_bench", limit=3, categories=["math"]))
    prompts = load_prompts(config)
    assert len(prompts) == 3 and {p.category for p in prompts} == {"math"}


def test_the_notebook_loads_a_public_set(public_dir: Path, shared_data: Path) -> None:
    place("vicuna", shared_data / "mt_bench/vicuna_bench_question.jsonl")
    assert len(evalkit.load_prompt_set("vicuna")) == 80


def test_the_cli_run_offline_prints_the_one_message(public_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("huggingface_hub")
    config = write_run_config(tmp_path, prompts="lima")
    env = {**os.environ, "COLUMNS": "300", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "evalkit.cli", "run", str(config)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert f"put it at {public_dir / 'lima' / 'test_all_with_tags.jsonl'} " in " ".join(done.stderr.split())


def test_arena_hard_v0_1_questions_and_a_bad_entry(tmp_path: Path) -> None:
    good = {
        "question_id": "q1",
        "category": "arena-hard-v0.1",
        "cluster": "Sorting",
        "turns": [{"content": "Sort."}],
    }
    path = tmp_path / "question.jsonl"
    path.write_text(json.dumps(good) + "\n")
    prompts = load_prompt_set(path, format="arena_hard")
    assert prompts.prompts[0].turns == ("Sort.",) and prompts.prompts[0].metadata["cluster"] == "Sorting"
    path.write_text(json.dumps({**good, "turns": ["Sort."]}) + "\n")
    with pytest.raises(
        ConfigError, match=r"question.jsonl:1: field 'turns': must be a list of \{content: text\}"
    ):
        load_prompt_set(path, format="arena_hard")
