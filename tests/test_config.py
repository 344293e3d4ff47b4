from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.errors import ConfigError
from evalkit.runner.config import load_config, parse_config

SYSTEMS = [
    {"name": "a", "model": "fake/echo"},
    {"name": "b", "model": "fake/echo"},
    {"name": "c", "model": "fake/echo"},
]


def test_pairs_default_to_all_pairs_or_baseline() -> None:
    config = parse_config({"name": "r", "prompts": "p.jsonl", "systems": SYSTEMS})
    assert config.pairs() == [("a", "b"), ("a", "c"), ("b", "c")]
    with_baseline = parse_config({"name": "r", "prompts": "p.jsonl", "systems": SYSTEMS, "baseline": "a"})
    assert with_baseline.pairs() == [("b", "a"), ("c", "a")]


def test_errors_name_each_bad_field() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(
            {"name": "r", "prompts": "p", "systems": [{"name": "a"}], "limit": 0, "colour": 1},
            source="exp.yaml",
        )
    message = str(info.value)
    assert "exp.yaml" in message
    assert "systems.0.model" in message
    assert "'limit'" in message
    assert "'colour'" in message


def test_unknown_system_in_comparison() -> None:
    with pytest.raises(ConfigError, match="unknown system 'zz'"):
        parse_config({"name": "r", "prompts": "p", "systems": SYSTEMS, "comparisons": [["a", "zz"]]})


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: r\nsystems: [\n  - oops: : :\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml:\d+:\d+"):
        load_config(path)


def test_overrides_and_relative_paths(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text("name: r\nprompts: set.jsonl\nsystems:\n  - {name: a, model: fake/echo}\n")
    config = load_config(path, {"limit": 5, "seed": None})
    assert config.limit == 5 and config.seed == 0
    assert config.resolve(config.prompts) == tmp_path / "set.jsonl"
