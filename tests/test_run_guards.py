"""Runs that cannot work stop at once with one message: nothing in flight, no prompts, a damaged cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_cli import assert_user_error, evalkit, write_config, write_prompts

PROMPTS = [
    '{"id": "p1", "prompt": "Say hello.", "category": "chat", "split": "in_distribution"}',
    '{"id": "p2", "prompt": "Write a haiku.", "category": "writing", "split": "out_of_distribution"}',
]


def test_max_concurrency_zero_is_a_config_error_not_a_hang(tmp_path: Path) -> None:
    write_prompts(tmp_path / "set.jsonl", PROMPTS)
    config = write_config(
        tmp_path,
        "name: x\nprompts: set.jsonl\nsystems:\n"
        "  - {name: a, model: fake/echo, options: {max_concurrency: 0}}\n",
    )
    assert_user_error(evalkit("run", str(config), cwd=tmp_path), "max_concurrency", ">= 1")


@pytest.mark.parametrize(
    "filters",
    ["categories: [chat]\nsplits: [out_of_distribution]\n", "categories: []\n"],
)
def test_filters_that_select_no_prompts_fail(tmp_path: Path, filters: str) -> None:
    write_prompts(tmp_path / "set.jsonl", PROMPTS)
    config = write_config(
        tmp_path, "name: x\nprompts: set.jsonl\n" + filters + "systems:\n  - {name: a, model: fake/echo}\n"
    )
    assert_user_error(
        evalkit("run", str(config), cwd=tmp_path), "no prompt has", "categories here: chat, writing"
    )
    meta = tmp_path / "reports" / "x" / "run.json"
    assert not meta.exists() or json.loads(meta.read_text())["status"] != "complete"


def _damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[4096:] = os.urandom(len(data) - 4096)  # the header survives: SQLite opens it, reads fail
    path.write_bytes(bytes(data))


def test_a_damaged_cache_is_one_error_naming_the_file(tmp_path: Path) -> None:
    write_prompts(
        tmp_path / "set.jsonl", [f'{{"id": "p{i}", "prompt": "{"long text " * 200}{i}"}}' for i in range(40)]
    )
    config = write_config(
        tmp_path, "name: x\nprompts: set.jsonl\nsystems:\n  - {name: a, model: fake/echo}\n"
    )
    assert evalkit("run", str(config), "--no-report", cwd=tmp_path).returncode == 0
    cache = tmp_path / "reports" / ".cache" / "evalkit.sqlite"
    _damage(cache)
    result = evalkit("run", str(config), "--no-report", "--name", "again", cwd=tmp_path)
    assert_user_error(
        result, f"the cache file {Path('reports/.cache/evalkit.sqlite')} is damaged", "Delete it"
    )
    assert len(result.stderr.strip().splitlines()) <= 3
    assert_user_error(evalkit("cache", "--path", str(cache), cwd=tmp_path), "is damaged", "Delete it")
