"""`evalkit judges` and `evalkit judges compare` on an offline run with two judges and human labels."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import evalkit
from evalkit.records import Judgment
from evalkit.runner.rundir import RunDir
from tests.pipeline_helpers import write_prompt_set, write_run_config

JUDGES = [
    {"judge": "lima-pairwise", "model": "fake/script", "name": "first", "options": {"responses": ["A"]}},
    {"judge": "lima-pairwise", "model": "fake/script", "name": "second", "options": {"responses": ["B"]}},
]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1"}
    command = [sys.executable, "-m", "evalkit.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def test_judges_still_lists_definitions() -> None:
    done = cli("judges")
    assert done.returncode == 0 and "lima-pairwise" in done.stdout


def test_compare_two_judges_with_human_labels(tmp_path: Path) -> None:
    write_prompt_set(tmp_path, 4)
    run = evalkit.run(write_run_config(tmp_path, judges=JUDGES), progress=False)
    prompts = [p.id for p in run.records.prompts]
    labels = [
        Judgment(prompt_id=p, model_a="echo", model_b="short", order="ab", source="human:ann", outcome="a")
        for p in prompts
    ]
    RunDir(run.path, create=False).store("judgments").append(labels)
    run = evalkit.load_run(run.path)
    rows = run.judge_comparison()
    assert [r.source for r in rows] == ["llm:first", "llm:second"]
    assert all(r.human is not None and r.human.items == 4 for r in rows)
    done = cli("judges", "compare", str(run.path))
    assert done.returncode == 0, done.stderr
    assert "llm:first" in done.stdout and "llm:second" in done.stdout
    html = run.report().read_text()
    assert 'id="judge-choice"' in html and "Which judge to trust" in html


def test_compare_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    done = cli("judges", "compare", str(tmp_path))
    assert done.returncode == 2 and "not an evalkit run folder" in done.stderr
