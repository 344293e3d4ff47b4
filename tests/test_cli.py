"""The CLI's user errors: one clear message naming the file, line or field; non-zero exit; no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def evalkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "evalkit.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_prompts(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


GOOD_PROMPTS = [
    '{"id": "p1", "prompt": "Say hello.", "category": "chat", "split": "in_distribution"}',
    '{"id": "p2", "prompt": "Write a haiku.", "category": "writing", "split": "out_of_distribution"}',
]


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(body)
    return path


def assert_user_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_malformed_yaml(tmp_path: Path) -> None:
    config = write_config(tmp_path, "name: x\nsystems: [\n  - {name: a, model: fake/echo\n")
    assert_user_error(evalkit("run", str(config), cwd=tmp_path), "exp.yaml:")


def test_missing_field(tmp_path: Path) -> None:
    config = write_config(tmp_path, "name: x\nsystems:\n  - {name: a}\n")
    assert_user_error(evalkit("run", str(config), cwd=tmp_path), "exp.yaml", "'prompts'", "systems.0.model")


def test_unknown_model_spec(tmp_path: Path) -> None:
    write_prompts(tmp_path / "set.jsonl", GOOD_PROMPTS)
    config = write_config(
        tmp_path, "name: x\nprompts: set.jsonl\nsystems:\n  - {name: a, model: nope/model}\n"
    )
    assert_user_error(evalkit("run", str(config), cwd=tmp_path), "unknown model provider 'nope'")


def test_bad_prompt_line(tmp_path: Path) -> None:
    write_prompts(tmp_path / "set.jsonl", [GOOD_PROMPTS[0], '{"id": "p2", "prompt": '])
    config = write_config(
        tmp_path, "name: x\nprompts: set.jsonl\nsystems:\n  - {name: a, model: fake/echo}\n"
    )
    assert_user_error(evalkit("run", str(config), cwd=tmp_path), "set.jsonl:2")


def test_missing_config_file(tmp_path: Path) -> None:
    assert_user_error(evalkit("run", "absent.yaml", cwd=tmp_path), "absent.yaml")


def test_unwritable_output_folder(tmp_path: Path) -> None:
    write_prompts(tmp_path / "set.jsonl", GOOD_PROMPTS)
    (tmp_path / "reports").write_text("a file, not a folder")
    config = write_config(
        tmp_path, "name: x\nprompts: set.jsonl\nsystems:\n  - {name: a, model: fake/echo}\n"
    )
    assert_user_error(evalkit("run", str(config), cwd=tmp_path), "cannot write to the run folder")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_read_only_output_folder(tmp_path: Path) -> None:
    write_prompts(tmp_path / "set.jsonl", GOOD_PROMPTS)
    (tmp_path / "reports").mkdir(mode=0o500)
    config = write_config(
        tmp_path, "name: x\nprompts: set.jsonl\nsystems:\n  - {name: a, model: fake/echo}\n"
    )
    assert_user_error(evalkit("run", str(config), cwd=tmp_path), "cannot write to the run folder")


def test_report_of_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    assert_user_error(evalkit("report", str(tmp_path), cwd=tmp_path), "not an evalkit run folder")


def test_models_lists_providers(tmp_path: Path) -> None:
    result = evalkit("models", cwd=tmp_path)
    assert result.returncode == 0
    for prefix in ("local/", "openai/", "anthropic/", "vllm/", "fake/"):
        assert prefix in result.stdout
