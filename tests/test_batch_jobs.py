"""Batch jobs end to end against the loopback stand-in of the providers' batch endpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit.runner.config import load_config
from evalkit.runner.pipeline import Pipeline
from tests.batch_helpers import batch_config
from tests.batch_standin import Behaviour, RunningStandIn

N = 8


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-not-a-real-key")


def _records(run_dir: Path, kind: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in (run_dir / f"{kind}.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_a_batch_run_completes_and_matches_the_online_run(tmp_path: Path, provider: str) -> None:
    with RunningStandIn() as standin:
        url = standin.openai_url if provider == "openai" else standin.anthropic_url
        config = batch_config(tmp_path, url, prompts=N, provider=provider)
        pipeline = Pipeline(load_config(config), show_progress=False)
        run_dir = await pipeline.execute()
        counters = standin.standin.snapshot()
        assert counters.get("online_requests", 0) == 0
        assert counters["max_submissions_per_request"] == 1
        # two rounds of generation (dialogues have two turns), one of judging
        assert counters["batches_created"] == 3
        online = batch_config(tmp_path / "online", url, prompts=N, provider=provider, batched=False)
        online_dir = await Pipeline(load_config(online), show_progress=False).execute()
    batch_responses = sorted((r["prompt_id"], r["system"], r["outputs"]) for r in _records(run_dir.path, "responses"))
    online_responses = sorted(
        (r["prompt_id"], r["system"], r["outputs"]) for r in _records(online_dir.path, "responses")
    )
    assert batch_responses == online_responses
    verdicts = sorted((j["prompt_id"], j["order"], j["outcome"]) for j in _records(run_dir.path, "judgments"))
    online_verdicts = sorted(
        (j["prompt_id"], j["order"], j["outcome"]) for j in _records(online_dir.path, "judgments")
    )
    assert verdicts == online_verdicts
    assert len(verdicts) == 2 * N
    assert all(j["error"] is None for j in _records(run_dir.path, "judgments"))
