"""Token distribution shift on offline fake backends: pipeline stage, CLI, report, tokenizer check."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import evalkit
from evalkit.analysis.shift import analyze_shift, check_tokenizers, continuation, preflight_shift
from evalkit.analysis.shift_records import load_shift, shift_store
from evalkit.errors import ConfigError
from evalkit.generators.base import Completion, CompletionRequest, Generator
from evalkit.generators.fake import FakeGenerator
from evalkit.runner.config import parse_config
from tests.pipeline_helpers import write_prompt_set, write_run_config

SHIFT = {"shift": {"base": "short", "aligned": "echo"}}


def run_with_shift(tmp_path: Path, **fields: Any) -> evalkit.Run:
    write_prompt_set(tmp_path, 4)
    config = write_run_config(tmp_path, judges=[], analyses=SHIFT, **fields)
    return evalkit.run(config, progress=False)


def test_configured_shift_is_a_pipeline_stage_and_a_report_section(tmp_path: Path) -> None:
    run = run_with_shift(tmp_path)
    answers = load_shift(run.path)
    assert len(answers) == 4 and all(a.error is None for a in answers)
    # The fake base ranks words found in the prompt 1, others 2 + len % 4. The echo answer
    # "Echo: Question 0: how long ..." repeats the prompt but for "Echo:" (rank 3: marginal).
    first = next(a for a in answers if a.prompt_id == "p000")
    assert first.tokens[0] == "Echo:" and first.ranks[0] == 3
    assert set(first.ranks[1:]) == {1}
    [overall] = run.shift()
    assert overall.shares["marginal"] == pytest.approx(4 / overall.tokens)
    html = (run.path / "report.html").read_text()
    assert 'id="shift"' in html and 'href="#shift"' in html
    assert "Most frequently shifted tokens" not in html  # nothing shifted: no table of shifted tokens
    stages = json.loads((run.path / "run.json").read_text())["executions"][-1]["stages"]
    assert [s["name"] for s in stages][-1] == "shift"


def test_a_second_run_scores_nothing_again(tmp_path: Path) -> None:
    run = run_with_shift(tmp_path)
    before = (run.path / "shift.jsonl").read_text()
    outcome = asyncio.run(analyze_shift(run.path, "short", "echo"))
    assert (outcome.resumed, outcome.scored) == (4, 0)
    assert (run.path / "shift.jsonl").read_text() == before


def test_shifted_tokens_are_shown_escaped(tmp_path: Path) -> None:
    evil = "<script>alert(1)</script>"
    systems = [
        {"name": "short", "model": "fake/constant", "options": {"text": "Yes."}},
        {"name": "echo", "model": "fake/constant", "options": {"text": f"Sure {evil} friend"}},
    ]
    run = run_with_shift(tmp_path, systems=systems)
    html = (run.path / "report.html").read_text()
    assert evil not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Most frequently shifted tokens" in html  # "friend": rank 2 + 6 % 4 = 4


def test_cli_analyze_shift(tmp_path: Path) -> None:
    write_prompt_set(tmp_path, 3)
    config = write_run_config(tmp_path, judges=[])
    run = evalkit.run(config, progress=False)
    assert not (run.path / "shift.jsonl").exists()
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    args = [sys.executable, "-m", "evalkit.cli", "analyze", "shift", str(run.path), "--base", "short"]
    done = subprocess.run([*args, "--aligned", "echo"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "3 scored" in done.stdout and "unshifted" in done.stdout
    assert 'id="shift"' in (run.path / "report.html").read_text()
    wrong = subprocess.run([*args, "--aligned", "nope"], capture_output=True, text=True, env=env, timeout=120)
    assert wrong.returncode == 2
    assert "--aligned 'nope' is not a system of this run" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_config_names_unknown_shift_system() -> None:
    data = {
        "name": "x",
        "prompts": "lima_style",
        "systems": [{"name": "a", "model": "fake/echo"}],
        "analyses": {"shift": {"base": "a", "aligned": "b"}},
    }
    with pytest.raises(ConfigError, match=r"analyses.shift.aligned: 'b' is not a system"):
        parse_config(data)


class OtherVocabulary(FakeGenerator):
    """A fake whose tokenizer differs from the others."""

    async def tokenizer_fingerprint(self) -> str:
        return "another-vocabulary"


class NoTokenizer(Generator):
    """A backend that cannot say which tokenizer it has (like an API model)."""

    async def complete(self, request: CompletionRequest) -> Completion:
        return Completion(text="")


def test_tokenizer_check() -> None:
    base = FakeGenerator("fake/echo", "echo", {})
    same = FakeGenerator("fake/constant", "constant", {"text": "hi"})
    asyncio.run(check_tokenizers(base, same, ("base", "aligned")))  # same vocabulary: accepted
    other = OtherVocabulary("fake/other", "echo", {})
    with pytest.raises(ConfigError, match="different tokenizers"):
        asyncio.run(check_tokenizers(base, other, ("base", "aligned")))
    with pytest.raises(ConfigError, match=r"aligned \(api/model\) does not expose one"):
        asyncio.run(check_tokenizers(base, NoTokenizer("api/model"), ("base", "aligned")))


def test_base_that_cannot_score_is_refused(tmp_path: Path) -> None:
    write_prompt_set(tmp_path, 2)
    run = evalkit.run(write_run_config(tmp_path, judges=[]), progress=False)

    def generators(spec: str, options: Any) -> Generator:
        return NoTokenizer(spec)

    with pytest.raises(ConfigError, match="cannot score a given answer"):
        asyncio.run(analyze_shift(run.path, "short", "echo", generators=generators))


def test_continuation_puts_back_the_space_after_the_cue() -> None:
    assert continuation(CompletionRequest(prompt="User: hi\nAssistant:"), "Hello") == " Hello"
    assert continuation(CompletionRequest(prompt="<start_of_turn>model\n"), "Hello") == "Hello"


def test_two_pairs_live_side_by_side(tmp_path: Path) -> None:
    run = run_with_shift(tmp_path)
    outcome = asyncio.run(analyze_shift(run.path, "short", "short"))
    assert (outcome.resumed, outcome.scored) == (0, 4)
    pairs = {(a.base, a.aligned) for a in load_shift(run.path)}
    assert pairs == {("short", "echo"), ("short", "short")}
    assert {(row.base, row.aligned) for row in evalkit.load_run(run.path).shift()} == pairs


def test_preflight_refuses_a_base_that_cannot_score_before_the_run() -> None:
    config = parse_config(
        {
            "name": "x",
            "prompts": "lima_style",
            "systems": [{"name": "short", "model": "openai/base"}, {"name": "echo", "model": "fake/echo"}],
            "analyses": SHIFT,
        }
    )

    def generators(spec: str, options: Any) -> Generator:
        return NoTokenizer(spec) if spec == "openai/base" else FakeGenerator(spec, "echo", {})

    with pytest.raises(ConfigError, match="short uses openai/base, which cannot score a given answer"):
        asyncio.run(preflight_shift(config, generators))


def test_stale_and_failed_records_are_redone(tmp_path: Path) -> None:
    run = run_with_shift(tmp_path)
    store = shift_store(run.path)
    records = store.load()
    records[0] = records[0].model_copy(update={"fingerprint": "another base model"})
    records[1] = records[1].model_copy(update={"ranks": (), "error": "GenerationError: boom"})
    store.rewrite(records)
    outcome = asyncio.run(analyze_shift(run.path, "short", "echo"))
    assert (outcome.resumed, outcome.scored, outcome.errors) == (2, 2, 0)
    assert all(a.error is None and a.ranks for a in load_shift(run.path))
