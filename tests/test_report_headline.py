"""The report's first screen answers the question: win rates with interval and n, the gap, the best system."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_helpers import browser
from report_helpers import PAIR_SOURCE, make_records

from evalkit.report import build_report
from evalkit.report.context import build_context
from evalkit.report.formatting import ci, pct
from evalkit.report.pairwise_view import StatSettings


def test_the_headline_holds_each_comparison_with_its_interval_and_n() -> None:
    records = make_records(16, ("lima", "alpaca", "gpt"), humans=False)
    ctx = build_context(records, settings=StatSettings(n_boot=100), charts=False)
    rows = {(r.model_a, r.model_b, r.source): r for r in ctx.headline.rows}
    for key, rate in ctx.tables.rates.items():
        model_a, model_b, source, group = key
        if group == "all":
            row = rows[(model_a, model_b, source)]
            assert (row.rate.win_rate, row.rate.n, row.rate.ci_low) == (rate.win_rate, rate.n, rate.ci_low)
            assert row.gap == ctx.tables.gaps.get((model_a, model_b, source))
    [best] = [b for b in ctx.headline.best if b.source == PAIR_SOURCE]
    board = next(b for b in ctx.leaderboards if b.source == PAIR_SOURCE)
    assert best.system == board.rows[0].rating.system
    assert "demonstration judge" in ctx.headline.caveat  # the fixtures' judge is the embedded model


def test_the_headline_comes_first_in_the_page(tmp_path: Path) -> None:
    records = make_records(16, ("lima", "alpaca"), humans=False)
    html = build_report(records, tmp_path / "r.html", n_boot=100).read_text("utf-8")
    order = [html.index(f'id="{name}"') for name in ("headline", "trust", "run", "pairwise")]
    assert order == sorted(order)
    headline = html[order[0] : order[1]]
    ctx = build_context(records, settings=StatSettings(n_boot=100), charts=False)
    row = ctx.headline.rows[0]
    assert pct(row.rate.win_rate) in headline and ci(row.rate.ci_low, row.rate.ci_high) in headline
    assert re.search(rf">{row.rate.n}\b", headline)


@pytest.mark.browser
def test_the_answer_is_on_the_first_screen(tmp_path: Path) -> None:
    report = build_report(make_records(16, ("lima", "alpaca", "gpt")), tmp_path / "r.html", n_boot=100)
    with browser() as chromium:
        page = chromium.new_context(viewport={"width": 1400, "height": 900}).new_page()
        page.goto(report.as_uri())
        box = page.locator("#headline table").bounding_box()
        assert box is not None and box["y"] + box["height"] <= 900, box
        assert page.locator("#headline").evaluate("e => e.scrollWidth <= e.clientWidth + 1")
        inside = (
            "e => [...e.querySelectorAll('table')]"
            ".every(t => t.getBoundingClientRect().right <= e.getBoundingClientRect().right + 1)"
        )
        assert page.locator("#run").evaluate(inside)  # the Judges table stays inside its card
