"""`evalkit cache` reads without creating and clears only when confirmed.

`evalkit models` says how to use each provider.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from evalkit import cache_cli
from evalkit.cache import ResponseCache
from evalkit.cli import app
from evalkit.generators.base import Completion
from evalkit.generators.provider_help import BUILTIN_USES, extra_installed

runner = CliRunner()


def filled_cache(path: Path) -> Path:
    store = ResponseCache(path)
    store.put_many([(f"k{i}", Completion(text="x" * 50, model_id="fake-echo")) for i in range(3)])
    store.put("k-local", Completion(text="hello", model_id="gemma-3-270m.gguf"))
    store.put("k-anon", Completion(text="hello"))
    store.close()
    return path


def cache_args(path: Path, *more: str) -> list[str]:
    return ["cache", "--path", str(path), *more]


def test_showing_a_missing_cache_creates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["cache"])
    assert result.exit_code == 0, result.output
    assert "no cache at" in result.output
    assert list(tmp_path.iterdir()) == []  # not even the reports/.cache folder


def test_clearing_a_missing_cache_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "c.sqlite"
    result = runner.invoke(app, cache_args(path, "--clear", "--yes"))
    assert result.exit_code == 0
    assert not (tmp_path / "sub").exists()


def test_showing_lists_entries_and_size_per_model_without_writing(tmp_path: Path) -> None:
    path = filled_cache(tmp_path / "c.sqlite")
    before = path.read_bytes()
    result = runner.invoke(app, cache_args(path), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "5 cached completions" in result.output
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in result.output.splitlines() if "│" in line]
    rows = {row[0]: row[1:] for row in cells}
    assert rows["fake-echo"][0] == "3" and rows["fake-echo"][1].endswith(" B")
    assert rows["gemma-3-270m.gguf"][0] == rows[cache_cli.UNKNOWN_MODEL][0] == "1"
    assert path.read_bytes() == before  # opened read-only


def test_clearing_without_a_terminal_or_yes_refuses_with_exit_2(tmp_path: Path) -> None:
    path = filled_cache(tmp_path / "c.sqlite")
    result = runner.invoke(app, cache_args(path, "--clear"))
    assert result.exit_code == 2
    assert "re-run with --yes" in result.output
    assert cache_cli.summarize_cache(path).entries == 5


def test_clearing_asks_and_a_no_keeps_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = filled_cache(tmp_path / "c.sqlite")
    monkeypatch.setattr(cache_cli, "interactive", lambda: True)
    declined = runner.invoke(app, cache_args(path, "--clear"), input="n\n")
    assert declined.exit_code == 1
    assert "Delete all 5 entries" in declined.output
    assert cache_cli.summarize_cache(path).entries == 5
    accepted = runner.invoke(app, cache_args(path, "--clear"), input="y\n")
    assert accepted.exit_code == 0
    assert "removed 5 entries" in accepted.output
    assert cache_cli.summarize_cache(path).entries == 0


def test_clearing_with_yes_does_not_ask(tmp_path: Path) -> None:
    path = filled_cache(tmp_path / "c.sqlite")
    result = runner.invoke(app, cache_args(path, "--clear", "--yes"))
    assert result.exit_code == 0
    assert "removed 5 entries" in result.output and "Delete all" not in result.output


def test_a_file_that_is_not_a_cache_is_one_clear_error(tmp_path: Path) -> None:
    from evalkit.cli import main

    path = tmp_path / "c.sqlite"
    path.write_bytes(b"not a database at all" * 100)
    assert main(cache_args(path)) == 2


def test_models_shows_spec_extra_and_whether_installed() -> None:
    result = runner.invoke(app, ["models"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "evalkit.generators" not in result.output  # no module paths
    for prefix, use in BUILTIN_USES.items():
        line = next(line for line in result.output.splitlines() if line.startswith(f"│ {prefix} "))
        assert use.example in line
        if use.extra:
            assert f"pip install 'evalkit[{use.extra}]'" in line
            assert ("yes" if extra_installed(use.extra) else "no") in line.split("│")[4]


def test_an_extra_counts_as_installed_only_with_all_its_packages() -> None:
    pytest.importorskip("openai")
    assert extra_installed("openai")
    assert not extra_installed("no-such-extra")


def test_sizes_read_in_decimal_units() -> None:
    sizes = [0, 999, 1000, 1500, 1_500_000, 2_000_000_000]
    assert [cache_cli.human_bytes(s) for s in sizes] == [
        "0 B", "999 B", "1.0 kB", "1.5 kB", "1.5 MB", "2.0 GB"
    ]  # fmt: skip


def test_a_path_with_brackets_is_printed_as_it_is(tmp_path: Path) -> None:
    missing = tmp_path / "[red]x[/red].sqlite"
    result = runner.invoke(app, cache_args(missing))
    assert result.exit_code == 0, result.output
    assert "[red]x[/red].sqlite" in result.output.replace("\n", "")
