"""Batch jobs end to end against the loopback stand-in of the providers' batch endpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit.errors import BudgetExceededError
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
    batch_responses = sorted(
        (r["prompt_id"], r["system"], r["outputs"]) for r in _records(run_dir.path, "responses")
    )
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


def _meta(run_dir: Path) -> dict[str, object]:
    return json.loads((run_dir / "run.json").read_text())  # type: ignore[no-any-return]


async def test_partial_failures_and_an_expired_batch_are_retried_in_new_batches(tmp_path: Path) -> None:
    behaviour = Behaviour(fail_modulo=3, fail_first=1, expire_batches=(1,))
    with RunningStandIn(behaviour) as standin:
        config = batch_config(tmp_path, standin.openai_url, prompts=N)
        run_dir = await Pipeline(load_config(config), show_progress=False).execute()
        counters = standin.standin.snapshot()
    assert counters["batches_created"] > 3  # retries went into new batches
    assert counters["max_submissions_per_request"] == 2  # failed once, never submitted a third time
    assert all(r["error"] is None for r in _records(run_dir.path, "responses"))
    assert all(j["error"] is None and j["outcome"] for j in _records(run_dir.path, "judgments"))
    ledger = (run_dir.path / "batches" / "ledger.jsonl").read_text()
    assert '"status":"expired"' in ledger


async def test_requests_that_keep_failing_are_errors_never_scored(tmp_path: Path) -> None:
    with RunningStandIn(Behaviour(fail_modulo=2, fail_first=99)) as standin:
        config = batch_config(tmp_path, standin.openai_url, prompts=N, batch_retries=1)
        run_dir = await Pipeline(load_config(config), show_progress=False).execute()
        counters = standin.standin.snapshot()
    assert counters["max_submissions_per_request"] == 2  # the first batch and one retry
    failed = [r for r in _records(run_dir.path, "responses") if r["error"]]
    assert failed and all("failed in 2 batch(es)" in str(r["error"]) for r in failed)
    judged = _records(run_dir.path, "judgments")
    assert all(j["outcome"] is None for j in judged if j["error"])
    assert any(j["outcome"] is not None for j in judged)


async def test_the_online_fallback_answers_what_batches_could_not(tmp_path: Path) -> None:
    with RunningStandIn(Behaviour(fail_modulo=2, fail_first=99)) as standin:
        config = batch_config(
            tmp_path, standin.openai_url, prompts=N, batch_retries=0, batch_fallback="online"
        )
        run_dir = await Pipeline(load_config(config), show_progress=False).execute()
        counters = standin.standin.snapshot()
    assert counters["online_requests"] > 0
    assert counters["max_submissions_per_request"] == 1
    assert all(r["error"] is None for r in _records(run_dir.path, "responses"))


async def test_costs_are_metered_at_batch_prices_and_max_cost_holds(tmp_path: Path) -> None:
    with RunningStandIn() as standin:
        batched = await Pipeline(
            load_config(batch_config(tmp_path / "b", standin.openai_url, prompts=N)), show_progress=False
        ).execute()
        online = await Pipeline(
            load_config(batch_config(tmp_path / "o", standin.openai_url, prompts=N, batched=False)),
            show_progress=False,
        ).execute()
        batch_cost = _meta(batched.path)["executions"][0]["cost"]  # type: ignore[index]
        online_cost = _meta(online.path)["executions"][0]["cost"]  # type: ignore[index]
        assert batch_cost["calls"] == online_cost["calls"] > 0
        assert batch_cost["total_usd"] == pytest.approx(online_cost["total_usd"] / 2)
        submitted_before = standin.standin.snapshot()["requests_submitted"]
        capped = load_config(batch_config(tmp_path / "c", standin.openai_url, prompts=N), {"max_cost": 5e-4})
        with pytest.raises(BudgetExceededError):
            await Pipeline(capped, show_progress=False).execute()
        submitted = standin.standin.snapshot()["requests_submitted"] - submitted_before
    assert 0 < submitted < submitted_before  # the budget stopped queueing part way
    ledger = [json.loads(line) for line in (tmp_path / "c/reports/batch-run/batches/ledger.jsonl").open()]
    first = next(e for e in ledger if e["event"] == "intent")
    assert 0 < first["estimate_usd"] <= 5e-4  # queued only what the budget allowed


def test_dry_run_estimates_batched_calls_at_batch_prices(tmp_path: Path) -> None:
    from evalkit.runner.plan import Planner

    estimates = []
    for batched in (True, False):
        config = batch_config(tmp_path / str(batched), "http://127.0.0.1:9/v1", prompts=N, batched=batched)
        planner = Planner(Pipeline(load_config(config), show_progress=False))
        planner.plan()
        estimates.append(planner.meter.total_usd)
    assert estimates[0] == pytest.approx(estimates[1] / 2) and estimates[1] > 0
