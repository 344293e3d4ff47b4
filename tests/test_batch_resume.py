"""Batch jobs survive a kill at any point: no request is submitted twice, nothing is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evalkit.cli import main
from evalkit.runner.config import load_config
from evalkit.runner.pipeline import Pipeline
from tests.batch_helpers import batch_config
from tests.batch_standin import Behaviour, RunningStandIn

N = 8
ROOT = Path(__file__).resolve().parents[1]
KILL_AFTER_SUBMIT = """
import os, signal, sys
from evalkit.batch import ledger
record = ledger.Ledger.record
def record_or_die(self, event):
    if event["event"] == "submitted":
        os.kill(os.getpid(), signal.SIGKILL)  # the batch exists at the provider; its id is not recorded
    record(self, event)
ledger.Ledger.record = record_or_die
from evalkit.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-not-a-real-key")


def _cli(config: Path, *extra: str, script: str | None = None) -> subprocess.Popen[bytes]:
    head = [sys.executable, "-c", script] if script else [sys.executable, "-m", "evalkit.cli"]
    return subprocess.Popen(
        [*head, "run", str(config), "-q", "--no-report", *extra], cwd=ROOT, env={**os.environ},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


def _ledger(config: Path) -> list[dict[str, object]]:
    path = config.parent / "reports" / "batch-run" / "batches" / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _wait_for(condition: object, timeout_s: float = 60.0) -> None:
    deadline = time.time() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def _outcomes(run_dir: Path) -> list[tuple[object, ...]]:
    rows = [json.loads(line) for line in (run_dir / "judgments.jsonl").read_text().splitlines()]
    return sorted((j["prompt_id"], j["order"], j["outcome"]) for j in rows)


async def _online_outcomes(folder: Path, url: str, provider: str) -> list[tuple[object, ...]]:
    config = batch_config(folder, url, prompts=N, provider=provider, batched=False)
    return _outcomes((await Pipeline(load_config(config), show_progress=False).execute()).path)


async def test_sigkill_while_polling_then_resume_submits_nothing_twice(tmp_path: Path) -> None:
    with RunningStandIn(Behaviour(processing_s=60)) as standin:
        config = batch_config(tmp_path / "run", standin.openai_url, prompts=N)
        process = _cli(config)
        _wait_for(lambda: any(e["event"] == "submitted" for e in _ledger(config)))
        time.sleep(0.3)  # polling now
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert standin.standin.snapshot()["batches_created"] == 1
        standin.standin.behaviour.processing_s = 0.0
        run_dir = await Pipeline(load_config(config), show_progress=False).execute()
        counters = standin.standin.snapshot()
        assert counters["batches_created"] == 3  # the first found again, then turn two, then judging
        assert counters["max_submissions_per_request"] == 1
        assert _outcomes(run_dir.path) == await _online_outcomes(
            tmp_path / "online", standin.openai_url, "openai"
        )


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_a_kill_between_submission_and_recording_the_id_finds_the_batch_again(
    tmp_path: Path, provider: str
) -> None:
    with RunningStandIn() as standin:
        url = standin.openai_url if provider == "openai" else standin.anthropic_url
        config = batch_config(tmp_path / "run", url, prompts=N, provider=provider)
        killed = _cli(config, script=KILL_AFTER_SUBMIT)
        assert killed.wait(timeout=60) == -signal.SIGKILL
        assert [e["event"] for e in _ledger(config)] == ["intent"]  # the id never reached the ledger
        assert standin.standin.snapshot()["batches_created"] == 1
        first_batch = next(iter(standin.standin.batches))
        run_dir = await Pipeline(load_config(config), show_progress=False).execute()
        counters = standin.standin.snapshot()
        assert counters["max_submissions_per_request"] == 1
        assert counters["batches_created"] == 3
        assert {"event": "submitted", "batch_id": first_batch} in [
            {k: e[k] for k in ("event", "batch_id") if k in e} for e in _ledger(config)
        ]
        assert _outcomes(run_dir.path) == await _online_outcomes(tmp_path / "online", url, provider)


def test_detach_submits_and_exits_then_running_again_collects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with RunningStandIn(Behaviour(processing_s=0.5)) as standin:
        config = batch_config(tmp_path, standin.openai_url, prompts=N, batch_poll_s=0.05)
        run_dir = config.parent / "reports" / "batch-run"
        assert main(["run", str(config), "--detach", "-q", "--no-report"]) == 0
        assert "run the same command again" in capsys.readouterr().out
        assert json.loads((run_dir / "run.json").read_text())["status"] == "waiting_for_batches"
        assert main(["batches", str(run_dir)]) == 0
        shown = capsys.readouterr().out
        assert "in_progress" in shown and "1 not yet collected" in shown and "at batch prices" in shown
        rounds = 1
        while json.loads((run_dir / "run.json").read_text())["status"] != "complete":
            time.sleep(0.6)
            assert main(["run", str(config), "--detach", "-q", "--no-report"]) == 0
            rounds += 1
            assert rounds < 10
        counters = standin.standin.snapshot()
    assert rounds == 4  # turn one, turn two, judging, then nothing left to wait for
    assert counters["max_submissions_per_request"] == 1
    assert counters["batches_created"] == 3
    assert main(["batches", str(run_dir)]) == 0
    assert "3 batch(es), 0 not yet collected" in capsys.readouterr().out
