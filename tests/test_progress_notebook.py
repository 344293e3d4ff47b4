"""Progress in Jupyter without ipywidgets: plain lines, no warnings; live bars everywhere else."""

from __future__ import annotations

import importlib.util
import io
import warnings
from importlib.machinery import ModuleSpec

import pytest
from rich.console import Console

from evalkit.runner import progress
from evalkit.runner.progress import StageProgress


def notebook_console(buffer: io.StringIO) -> Console:
    # record: without IPython, what a notebook console prints is only kept in its record
    return Console(file=buffer, force_jupyter=True, width=120, record=True)


def without_ipywidgets(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> ModuleSpec | None:
        return None if name == "ipywidgets" else real(name, package)

    monkeypatch.setattr(progress.importlib.util, "find_spec", find_spec)


def run_stage(bars: StageProgress, total: int) -> None:
    with bars:
        bars.stage("generate", total)
        for done in range(total):
            bars.advance("generate", hits=done // 2, errors=0)


def test_a_notebook_without_ipywidgets_gets_plain_lines_and_no_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    without_ipywidgets(monkeypatch)
    console = notebook_console(io.StringIO())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # rich's 'install "ipywidgets"' warning would fail here
        run_stage(StageProgress(console=console), total=40)
    lines = console.export_text().splitlines()
    assert lines[0].split() == ["generate", "0/40", "cached", "0", "errors", "0"]
    assert lines[-1].split() == ["generate", "40/40", "cached", "19", "errors", "0"]
    assert not progress.live_bars_supported(notebook_console(io.StringIO()))


def test_the_fallback_prints_about_one_line_per_tenth() -> None:
    buffer = io.StringIO()
    text = progress.TextProgress(Console(file=buffer, width=120))
    text.stage("pairwise", 200, 0)
    for _ in range(200):
        text.advance("pairwise", hits=1, errors=2)
    lines = buffer.getvalue().splitlines()
    assert len(lines) == progress.TEXT_STEPS + 1
    assert lines[0].split() == ["pairwise", "0/200", "cached", "0", "errors", "0"]
    assert lines[-1].split() == ["pairwise", "200/200", "cached", "1", "errors", "2"]


def test_a_terminal_keeps_the_live_bars() -> None:
    console = Console(file=io.StringIO(), force_jupyter=False, force_terminal=True)
    assert progress.live_bars_supported(console)
    bars = StageProgress(console=console)
    assert bars._progress is not None and bars._text is None
