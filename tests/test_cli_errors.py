"""CLI mistakes, signals, bad text and a full disk: one clear message each, never a traceback."""

from __future__ import annotations

import errno
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evalkit import __version__, cli
from evalkit.records import Prompt
from evalkit.runner.rundir import RecordStore
from tests.test_cli import GOOD_PROMPTS, assert_user_error, evalkit, write_config, write_prompts

FAKE_RUN = "name: x\nprompts: set.jsonl\nsystems:\n  - {name: a, model: fake/echo}\n"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("frobnicate",), "No such command 'frobnicate'"),
        (("run",), "Missing argument"),
        (("run", "x.yaml", "--limit", "many"), "Invalid value for '--limit'"),
    ],
)
def test_usage_mistakes_are_one_short_message(tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    result = evalkit(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert needle in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 6


def test_version(tmp_path: Path) -> None:
    result = evalkit("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"evalkit {__version__}"


def test_ctrl_c_exits_130_with_a_message(tmp_path: Path) -> None:
    write_prompts(tmp_path / "set.jsonl", GOOD_PROMPTS)
    config = write_config(
        tmp_path,
        "name: x\nprompts: set.jsonl\nsystems:\n  - {name: a, model: fake/echo, options: {delay: 30}}\n",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "evalkit.cli", "run", str(config), "--quiet"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A test runner started in the background (nohup, `&` without job control) has SIGINT
        # ignored, and children inherit that; give the CLI the terminal's default, as a user has.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    prompts_file = tmp_path / "reports" / "x" / "prompts.jsonl"
    deadline = time.monotonic() + 60
    while not prompts_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    assert "Traceback" not in stderr
    meta = json.loads((tmp_path / "reports" / "x" / "run.json").read_text())
    assert meta["status"] == "interrupted"


def test_lone_surrogate_in_a_prompt_names_the_line_and_field(tmp_path: Path) -> None:
    write_prompts(tmp_path / "set.jsonl", [GOOD_PROMPTS[0], '{"id": "p2", "prompt": "bad \\ud800 text"}'])
    config = write_config(tmp_path, FAKE_RUN)
    assert_user_error(evalkit("run", str(config), cwd=tmp_path), "set.jsonl:2", "'prompt'", "surrogate")


def test_raw_line_separators_inside_json_strings_are_accepted(tmp_path: Path) -> None:
    texts = ["first\u2028second", "next\u0085line", "para\u2029graph\x1c"]
    lines = [json.dumps({"id": f"p{i}", "prompt": t}, ensure_ascii=False) for i, t in enumerate(texts)]
    (tmp_path / "set.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = write_config(tmp_path, FAKE_RUN)
    result = evalkit("run", str(config), "--no-report", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    stored = RecordStore(tmp_path / "reports" / "x" / "prompts.jsonl", Prompt).load()
    assert [p.turns[-1] for p in stored] == texts
    assert "\u2028" in (tmp_path / "reports" / "x" / "prompts.jsonl").read_text(encoding="utf-8")


def _judge_with(tmp_path: Path, expression: str) -> Path:
    judge = tmp_path / "broken.yaml"
    judge.write_text(
        "name: broken\nversion: '1'\nkind: grade\ndescription: d\n"
        "labels:\n  - {code: '1', name: one, score: 1}\n  - {code: '2', name: two, score: 2}\n"
        f"template:\n  system: s\n  user: |\n    {expression}\n    {{{{ answer }}}}\n"
    )
    return judge


@pytest.mark.parametrize(
    ("expression", "needle"),
    [
        ("{% include 'other.j2' %}", "include"),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{{ question + 1 }}", "TypeError"),
    ],
)
def test_judge_template_runtime_errors_name_the_judge_file(
    tmp_path: Path, expression: str, needle: str
) -> None:
    write_prompts(tmp_path / "set.jsonl", GOOD_PROMPTS)
    _judge_with(tmp_path, expression)
    config = write_config(tmp_path, FAKE_RUN + "judges:\n  - {judge: broken.yaml, model: fake/echo}\n")
    assert_user_error(
        evalkit("run", str(config), cwd=tmp_path), "exp.yaml: judges[0].judge", "broken.yaml", needle
    )


def test_a_full_disk_is_one_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_prompts(tmp_path / "set.jsonl", GOOD_PROMPTS)
    config = write_config(tmp_path, FAKE_RUN)
    monkeypatch.chdir(tmp_path)

    def full(self: RecordStore[Prompt], records: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(self.path))

    monkeypatch.setattr(RecordStore, "append", full)
    assert cli.main(["run", str(config), "--quiet", "--no-report"]) == 2
    stderr = capsys.readouterr().err
    assert "disk is full" in stderr
    assert "responses.jsonl" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (
            "systems:\n  - {name: a, model: fake/echo}\n  - {name: b, model: foo/bar}\n",
            "systems[1].model: unknown model provider 'foo'",
        ),
        (
            "systems:\n  - {name: a, model: fake/echo, template: nope}\n",
            "systems[0].template: unknown template 'nope'",
        ),
        (
            "systems:\n  - {name: a, model: fake/echo}\njudges:\n  - {judge: nojudge, model: fake/echo}\n",
            "judges[0].judge:",
        ),
        (
            "systems:\n  - {name: a, model: fake/echo}\njudges:\n  - {judge: lima-grade, model: bar/x}\n",
            "judges[0].model: unknown model provider 'bar'",
        ),
    ],
)
def test_unknown_names_say_the_config_file_and_field(tmp_path: Path, body: str, needle: str) -> None:
    write_prompts(tmp_path / "set.jsonl", GOOD_PROMPTS)
    config = write_config(tmp_path, "name: x\nprompts: set.jsonl\n" + body)
    assert_user_error(evalkit("run", str(config), cwd=tmp_path), f"exp.yaml: {needle}")
