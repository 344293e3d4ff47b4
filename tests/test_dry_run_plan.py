"""--dry-run needs no key, breaks calls and cost down per model, uses the config's prices,
and its counts match what the run then makes (re-asks within the bound it gives)."""

from __future__ import annotations

import asyncio
import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from api_helpers import LoopbackServer, Reply, SeenRequest, openai_chat_body
from pipeline_helpers import write_prompt_set, write_run_config

from evalkit import cli
from evalkit.generators.base import CompletionRequest
from evalkit.judging.engine import REASK_SEPARATOR
from evalkit.judging.loading import load_judge
from evalkit.runner.config import RunConfig, load_config
from evalkit.runner.meta import Execution, RunMeta
from evalkit.runner.pipeline import Pipeline
from evalkit.runner.plan import needs_reask
from evalkit.runner.plan_report import PlannedVsMade, RunPlan, plan_run, planned_vs_made

N = 6
UNREADABLE = "I cannot decide."
SCRIPTED_JUDGES = [
    {"judge": "lima-pairwise", "model": "fake/script", "options": {"responses": [UNREADABLE, "A"]}},
    {"judge": "lima-grade", "model": "fake/script", "options": {"responses": ["pass"]}},
]


@pytest.fixture(autouse=True)
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def run_once(config: RunConfig) -> Execution:
    asyncio.run(Pipeline(config, show_progress=False).execute())
    meta = RunMeta.model_validate_json((config.run_dir() / "run.json").read_text())
    return meta.executions[-1]


def reasks_made(config: RunConfig) -> int:
    """Judge answers that needed the follow-up question (their raw text keeps both answers)."""
    found = 0
    for kind in ("judgments", "grades"):
        path = config.run_dir() / f"{kind}.jsonl"
        if path.exists():
            found += sum(REASK_SEPARATOR in json.loads(line)["raw"] for line in path.open())
    return found


def rows_by_name(plan: RunPlan, execution: Execution) -> dict[str, PlannedVsMade]:
    return {row.row: row for row in planned_vs_made(plan, execution)}


def test_planned_calls_match_the_run_and_the_cache(tmp_path: Path) -> None:
    write_prompt_set(tmp_path, N, multi_turn_every=3)
    config = load_config(write_run_config(tmp_path, judges=SCRIPTED_JUDGES))
    plan = plan_run(config)
    execution = run_once(config)
    reasks = reasks_made(config)
    rows = rows_by_name(plan, execution)
    assert rows["stage generate"].made_calls == rows["stage generate"].planned_calls == 2 * (N + 2)
    assert rows["stage grade"].made_calls == rows["stage grade"].planned_calls == 2 * N
    pairwise = rows["stage pairwise"]
    assert pairwise.planned_calls == 2 * N and pairwise.planned_reasks == 2 * N
    assert 0 < reasks <= pairwise.planned_reasks
    assert pairwise.made_calls == pairwise.planned_calls + reasks
    script = rows["fake/script"]
    assert script.made_calls == script.planned_calls + reasks

    # The same config again: everything is stored, so nothing is planned and nothing is called.
    assert plan_run(config).calls == 0
    assert sum(c.calls for c in run_once(config).calls.values()) == 0

    # A new run folder on the same cache: the cache answers every request, re-asks included,
    # and the plan knows exactly which cached verdicts will need their (cached) re-ask.
    again = config.model_copy(update={"name": "second"})
    cached_plan = plan_run(again)
    assert cached_plan.calls == 0
    cached_rows = rows_by_name(cached_plan, run_once(again))
    assert cached_rows["stage pairwise"].planned_reasks == reasks
    for row in cached_rows.values():
        assert row.made_calls == 0
    script = cached_rows["fake/script"]
    assert script.made_cached == script.planned_cached + reasks


def test_an_api_config_dry_runs_without_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("openai", reason="needs the openai SDK: pip install 'evalkit[api]'")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    write_prompt_set(tmp_path, 4)
    api = [
        {"name": "small", "model": "openai/gpt-4o-mini", "params": {"max_tokens": 100}},
        {"name": "echo", "model": "fake/echo"},
    ]
    judges = [{"judge": "lima-pairwise", "model": "openai/gpt-4o-mini"}]
    path = write_run_config(tmp_path, systems=api, judges=judges, baseline="echo")
    assert cli.main(["run", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "generate  8 items: 0 already done, 0 answered by the cache, 8 model calls" in out
    assert "pairwise  8 items: 0 already done, 0 answered by the cache, 8 model calls, up to 8 re-asks" in out
    table = {cells[0] + "|" + cells[1]: cells for cells in _table_rows(out)}
    assert table["openai/gpt-4o-mini|generate"][2] == "4"
    assert table["openai/gpt-4o-mini|pairwise"][2:5] == ["8", "0", "8"]
    assert table["openai/gpt-4o-mini|generate"][-1] == "built-in"
    assert table["fake/echo|generate"][-1] == "free (local)"
    assert float(table["openai/gpt-4o-mini|generate"][5].lstrip("$")) > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.yaml", "set.jsonl"]  # nothing written
    # The run itself still needs the key, and says so before anything starts.
    assert cli.main(["run", str(path), "--quiet"]) == 2
    assert "OPENAI_API_KEY" in capsys.readouterr().err


def test_prices_in_the_config_win_over_the_built_in_table(tmp_path: Path) -> None:
    pytest.importorskip("openai", reason="needs the openai SDK: pip install 'evalkit[api]'")
    write_prompt_set(tmp_path, 3)
    systems = [{"name": "small", "model": "openai/gpt-4o-mini", "params": {"max_tokens": 50}}]
    # A dollar per output token and nothing for input: the estimate is calls x max_tokens.
    prices = {"gpt-4o-mini": {"input": 0, "output": 1_000_000}}
    config = load_config(write_run_config(tmp_path, systems=systems, judges=[], baseline=None, prices=prices))
    plan = plan_run(config)
    (model,) = plan.models
    assert model.price == "config"
    assert model.usd == pytest.approx(3 * 50.0)
    assert plan.total_usd == pytest.approx(3 * 50.0)


def _table_rows(output: str) -> list[list[str]]:
    return [[c.strip() for c in line.split("│")[1:-1]] for line in output.splitlines() if line.count("│") > 3]


def _text_completion(text: str) -> dict[str, Any]:
    body = openai_chat_body(text)
    body["object"] = "text_completion"
    body["choices"] = [{"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}]
    return body


def _loopback_reply(request: SeenRequest) -> Reply:
    if request.method == "GET":
        return Reply(body={"object": "list", "data": [{"id": "served"}]})
    body: dict[str, Any] = request.json()
    if "prompt" in body:  # a system rendered as plain text: /completions
        return Reply(body=_text_completion(f"An answer to: {str(body['prompt'])[-40:]}"))
    text = " ".join(str(m["content"]) for m in body["messages"])
    # The first question of about half the judge items gets an unreadable answer.
    first = all(m["role"] != "assistant" for m in body["messages"])
    unreadable = first and zlib.crc32(text.encode()) % 2 == 0
    return Reply(body=openai_chat_body(UNREADABLE if unreadable else "A"))


def test_planned_calls_match_a_run_against_a_loopback_api(tmp_path: Path) -> None:
    pytest.importorskip("openai", reason="needs the openai SDK: pip install 'evalkit[api]'")
    write_prompt_set(tmp_path, N)
    with LoopbackServer(_loopback_reply) as server:
        options = {"base_url": f"{server.url}/v1"}
        model = "openai-compatible/served"
        systems = [
            {"name": "api", "model": model, "options": options, "params": {"max_tokens": 64}},
            {"name": "echo", "model": "fake/echo"},
        ]
        judges = [{"judge": "lima-pairwise", "model": model, "options": options, "text_prompt": False}]
        prices = {model: {"input": 1.0, "output": 2.0}}
        path = write_run_config(tmp_path, systems=systems, judges=judges, baseline="echo", prices=prices)
        config = load_config(path)
        plan = plan_run(config)
        posts_before = sum(r.method == "POST" for r in server.requests)
        execution = run_once(config)
        posts = sum(r.method == "POST" for r in server.requests) - posts_before
    assert posts_before == 0  # planning sent nothing
    reasks = reasks_made(config)
    rows = rows_by_name(plan, execution)
    assert rows[model].planned_calls == N + 2 * N
    assert 0 < reasks <= rows[model].planned_reasks
    assert rows[model].made_calls == posts == rows[model].planned_calls + reasks
    assert plan.total_usd > 0 and {m.price for m in plan.models if m.model == model} == {"config"}


def test_a_grammar_constrained_verdict_needs_no_reask() -> None:
    spec = load_judge("lima-pairwise")
    free = CompletionRequest(prompt="Which is better?")
    constrained = free.model_copy(update={"response_format": {"type": "grammar", "grammar": 'root ::= "A"'}})
    assert needs_reask(free, None, spec)
    assert not needs_reask(constrained, None, spec)


def test_shift_passes_count_the_turns_not_scored_yet(tmp_path: Path) -> None:
    write_prompt_set(tmp_path, 4, multi_turn_every=2)  # two of the four prompts have two turns
    shift = {"shift": {"base": "short", "aligned": "echo"}}
    config = load_config(write_run_config(tmp_path, judges=[], analyses=shift))
    assert plan_run(config).shift_passes == 6
    run_once(config)
    assert plan_run(config).shift_passes == 0
    assert plan_run(load_config(write_run_config(tmp_path, judges=[]))).shift_passes is None
