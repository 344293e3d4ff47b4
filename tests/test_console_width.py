"""Piped command output is not cut to 80 columns."""

from __future__ import annotations

import pytest

from evalkit.console import PIPED_WIDTH, cli_console


def test_piped_output_gets_the_wide_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert cli_console().width == PIPED_WIDTH
    assert cli_console(stderr=True).width == PIPED_WIDTH


def test_an_explicit_columns_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    assert cli_console().width == 100
