"""--dry-run counts the calls the cache cannot answer; --max-cost stops new calls, leaving a resumable run."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from evalkit.errors import BudgetExceededError
from evalkit.runner.config import load_config
from evalkit.runner.pipeline import Pipeline
from evalkit.runner.plan import Planner
from tests.pipeline_helpers import write_prompt_set, write_run_config

N = 8
PRICED = {"fake/*": {"input": 1000.0, "output": 1000.0}}  # $0.001 a token: easy to reason about


def test_dry_run_counts_every_call_then_none_after_the_run(tmp_path: Path) -> None:
    write_prompt_set(tmp_path, N, multi_turn_every=4)  # prompts 0 and 4 have two turns
    config = load_config(write_run_config(tmp_path, prices=PRICED))
    before = {s.name: s for s in Planner(Pipeline(config, show_progress=False)).plan()}
    assert before["generate"].calls == 2 * (N + 2)
    assert before["pairwise"].calls == 2 * N
    assert before["grade"].calls == 2 * N
    planner = Planner(Pipeline(config, show_progress=False))
    planner.plan()
    assert planner.meter.total_usd > 0
    assert not (tmp_path / "reports" / "fake-run" / "responses.jsonl").exists()  # nothing was run

    asyncio.run(Pipeline(config, show_progress=False).execute())
    after = Planner(Pipeline(config, show_progress=False)).plan()
    assert sum(stage.calls for stage in after) == 0


def test_max_cost_stops_new_calls_and_the_run_resumes(tmp_path: Path) -> None:
    write_prompt_set(tmp_path, N)
    path = write_run_config(tmp_path, prices=PRICED, concurrency=1)
    cheap = load_config(path, {"max_cost": 0.05})
    pipeline = Pipeline(cheap, show_progress=False)
    with pytest.raises(BudgetExceededError, match="passed --max-cost"):
        asyncio.run(pipeline.execute())
    spent = pipeline.backends.calls
    assert 0 < spent < 2 * N * 3
    run_dir = tmp_path / "reports" / "fake-run"
    assert json.loads((run_dir / "run.json").read_text())["status"] == "stopped_at_budget"
    stored = len((run_dir / "responses.jsonl").read_text().splitlines())
    assert stored < 2 * N

    resumed = Pipeline(load_config(path), show_progress=False)
    asyncio.run(resumed.execute())
    responses = [json.loads(x) for x in (run_dir / "responses.jsonl").read_text().splitlines()]
    assert len({(r["prompt_id"], r["system"]) for r in responses}) == len(responses) == 2 * N
    # Work done before the stop is not paid for again: only the missing calls are made.
    assert resumed.backends.calls == 2 * N * 3 - spent


def test_cli_dry_run_prints_calls_and_cost(tmp_path: Path) -> None:
    write_prompt_set(tmp_path, 3)
    path = write_run_config(tmp_path, prices=PRICED)
    result = subprocess.run(
        [sys.executable, "-m", "evalkit.cli", "run", str(path), "--dry-run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "generate  6 items: 0 already done, 0 answered by the cache, 6 model calls" in result.stdout
    assert "estimated cost: $" in result.stdout
    assert not (tmp_path / "reports" / "fake-run" / "responses.jsonl").exists()
