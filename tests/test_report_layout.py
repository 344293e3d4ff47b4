"""The report's layout in a real headless Chromium at 1400 px: nothing overflows, charts keep their size."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import browser
from report_showcase import showcase_records

from evalkit.report import build_report

pytestmark = pytest.mark.browser

WIDTH = 1400


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    report = build_report(showcase_records(), tmp_path_factory.mktemp("layout") / "report.html", n_boot=200)
    with browser() as chromium:
        tab = chromium.new_page(viewport={"width": WIDTH, "height": 900})
        tab.goto(report.as_uri())
        yield tab


def test_no_section_overflows_sideways(page: Any) -> None:
    overflowing = page.evaluate(
        """() => [...document.querySelectorAll('section[id]')]
            .filter(s => s.scrollWidth > s.clientWidth + 1)
            .map(s => `${s.id}: ${s.scrollWidth} > ${s.clientWidth}`)"""
    )
    assert overflowing == []
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def test_no_table_needs_its_scroll_bar_at_1400(page: Any) -> None:
    scrolling = page.evaluate(
        """() => [...document.querySelectorAll('.scroll')]
            .filter(s => s.scrollWidth > s.clientWidth + 1)
            .map(s => `${s.closest('section').id}: ${s.scrollWidth} > ${s.clientWidth}`)"""
    )
    assert scrolling == []


def test_win_tie_loss_bars_show_whiskers(page: Any) -> None:
    drawn = page.evaluate(
        """() => [...document.querySelectorAll('#pairwise svg g[id*="-whisker-"]:not([id$="-point"])')]
            .map(g => g.getBoundingClientRect().width)"""
    )
    # the judge: 3 comparisons x 3 panels and x 5 categories; the annotator labeled in-distribution
    # prompts only (2 panels with verdicts) and no poetry prompt (4 categories)
    assert len(drawn) == 9 + 15 + 2 + 4
    assert all(width > 0 for width in drawn)


def _scale(page: Any, selector: str) -> dict[str, float]:
    return dict(
        page.evaluate(
            """(sel) => { const svg = document.querySelector(sel);
                 const box = svg.getBoundingClientRect();
                 return {width: box.width, scale: box.width / svg.viewBox.baseVal.width}; }""",
            selector,
        )
    )


def test_a_single_panel_keeps_its_size_and_font_scale(page: Any) -> None:
    three_panels = _scale(page, "#pairwise-s0 > figure svg")
    one_panel = _scale(page, "#pairwise-s0 figure.category-chart svg")
    assert one_panel["width"] < 560 < three_panels["width"]
    assert one_panel["scale"] == pytest.approx(three_panels["scale"], rel=0.02)


def test_grade_category_charts_sit_side_by_side_at_full_scale(page: Any) -> None:
    boxes = page.evaluate(
        """() => [...document.querySelectorAll('#grades .chart-row svg')].slice(0, 4).map(svg => {
             const b = svg.getBoundingClientRect();
             return [b.left, b.top, b.width / svg.viewBox.baseVal.width]; })"""
    )
    assert len(boxes) == 4
    assert boxes[0][1] == boxes[1][1] and boxes[1][0] > boxes[0][0]  # on one row
    main = _scale(page, "#grades > .judge-block > figure svg")
    assert all(scale == pytest.approx(main["scale"], rel=0.02) for _, _, scale in boxes)


def test_small_n_flags_explain_themselves(page: Any) -> None:
    titles = page.evaluate(
        """() => [...document.querySelectorAll('abbr.small-n[title]')].map(a => a.title)"""
    )
    assert titles and all("fewer than 10" in title for title in titles)


def test_sections_screenshot_at_1400(page: Any, tmp_path: Path) -> None:
    section = page.query_selector("#pairwise")
    shot = tmp_path / "pairwise.png"
    section.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
