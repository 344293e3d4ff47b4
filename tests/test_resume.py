"""A run killed with SIGKILL at any point, then re-run, completes with nothing lost or duplicated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pipeline_helpers import write_prompt_set, write_run_config

PROMPTS = 30


def _lines(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _start(config: Path, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "evalkit.cli", "run", str(config), "--quiet", "--no-report"],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _kill_when(process: subprocess.Popen[bytes], path: Path, at_least: int) -> int:
    """SIGKILL the run once ``path`` holds at least ``at_least`` lines; returns the lines seen then."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists() and path.read_bytes().count(b"\n") >= at_least:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return path.read_bytes().count(b"\n")
        time.sleep(0.005)
    pytest.fail(f"the run ended or stalled before {path.name} reached {at_least} lines")


@pytest.mark.parametrize(("stage_file", "at_least"), [("responses.jsonl", 7), ("judgments.jsonl", 11)])
def test_sigkill_then_rerun_loses_and_duplicates_nothing(
    tmp_path: Path, stage_file: str, at_least: int
) -> None:
    write_prompt_set(tmp_path, PROMPTS, multi_turn_every=5)
    slow = {"max_concurrency": 3, "delay": 0.02}
    config = write_run_config(
        tmp_path,
        systems=[
            {"name": "short", "model": "fake/constant", "options": {"text": "Yes.", **slow}},
            {"name": "echo", "model": "fake/echo", "options": slow},
        ],
        judges=[
            {"judge": "lima-pairwise", "model": "fake/script", "options": {"responses": ["A"], **slow}},
            {"judge": "lima-grade", "model": "fake/script", "options": {"responses": ["pass"], **slow}},
        ],
    )
    run_dir = tmp_path / "reports" / "fake-run"
    seen = _kill_when(_start(config, tmp_path), run_dir / stage_file, at_least)
    assert seen < {"responses.jsonl": 2 * PROMPTS, "judgments.jsonl": 2 * PROMPTS}[stage_file]
    assert json.loads((run_dir / "run.json").read_text())["status"] == "running"  # killed: no clean exit

    finished = _start(config, tmp_path)
    assert finished.wait(timeout=120) == 0

    responses = _lines(run_dir / "responses.jsonl")
    keys = [(r["prompt_id"], r["system"], r["sample"]) for r in responses]
    assert len(keys) == len(set(keys)) == 2 * PROMPTS
    assert all(r["error"] is None for r in responses)
    judgments = _lines(run_dir / "judgments.jsonl")
    jkeys = [(j["prompt_id"], j["order"], j["source"]) for j in judgments]
    assert len(jkeys) == len(set(jkeys)) == 2 * PROMPTS  # one comparison, both orders
    grades = _lines(run_dir / "grades.jsonl")
    gkeys = [(g["prompt_id"], g["system"], g["source"], g["turn"]) for g in grades]
    assert len(gkeys) == len(set(gkeys)) >= 2 * PROMPTS
    assert json.loads((run_dir / "run.json").read_text())["status"] == "complete"
