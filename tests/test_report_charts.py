"""The report's charts and the details around its numbers, on a run that exercises all of them."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from report_showcase import (
    ANNOTATOR,
    LIKERT_SCALE,
    PROMPT_SET,
    WITHOUT_PROBABILITIES,
    showcase_prompts,
    showcase_records,
)

from evalkit.report import build_report
from evalkit.report.charts import (
    WIN_TIE_LOSS_COLORS,
    Bar,
    Panel,
    contrast_ratio,
    ordinal_colors,
    stacked_bars_svg,
)
from evalkit.report.context import ReportContext, build_context
from evalkit.report.formatting import ci
from evalkit.report.pairwise_view import StatSettings


@pytest.fixture(scope="module")
def ctx() -> ReportContext:
    return build_context(showcase_records(), settings=StatSettings(n_boot=200))


@pytest.fixture(scope="module")
def html(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = build_report(showcase_records(), tmp_path_factory.mktemp("r") / "report.html", n_boot=200)
    return path.read_text(encoding="utf-8")


def _section(html: str, name: str) -> str:
    match = re.search(rf'<section id="{name}".*?</section>', html, re.S)
    assert match, name
    return match.group(0)


def _bars(count: int, interval: tuple[float, float] | None) -> tuple[Bar, ...]:
    point = None if interval is None else sum(interval) / 2
    return tuple(Bar(f"row {i}", (0.5, 0.2, 0.3), "note", point, interval) for i in range(count))


def test_bars_with_intervals_get_one_whisker_each() -> None:
    panels = [Panel("all", _bars(3, (0.4, 0.7))), Panel("in", _bars(3, None))]
    svg = stacked_bars_svg("w", panels, ["a", "t", "b"], WIN_TIE_LOSS_COLORS, "win rate and its CI")
    assert sorted(re.findall(r'id="w-(whisker-\d+-\d+)"', svg)) == [f"whisker-0-{i}" for i in range(3)]
    assert len(re.findall(r'id="w-whisker-\d+-\d+-point"', svg)) == 3
    assert "win rate and its CI" in svg


def test_bars_without_intervals_draw_no_whisker_nor_legend_entry() -> None:
    svg = stacked_bars_svg("w", [Panel("all", _bars(2, None))], ["a", "t", "b"], WIN_TIE_LOSS_COLORS, "CI")
    assert "whisker" not in svg and ">CI<" not in svg


def _width_pt(svg: str) -> float:
    match = re.search(r'style="width:([0-9.]+)pt;max-width:100%"', svg)
    assert match, svg[:300]
    return float(match.group(1))


def _font_sizes(svg: str) -> set[str]:
    return set(re.findall(r"font: ([0-9.]+)px", svg))


def test_one_panel_is_drawn_at_its_own_size_with_the_same_fonts_as_three() -> None:
    one = stacked_bars_svg("one", [Panel("all", _bars(2, (0.4, 0.6)))], ["a", "t", "b"], WIN_TIE_LOSS_COLORS)
    three = stacked_bars_svg(
        "three", [Panel(name, _bars(2, (0.4, 0.6))) for name in "xyz"], ["a", "t", "b"], WIN_TIE_LOSS_COLORS
    )
    assert _width_pt(one) < 400 < _width_pt(three)  # a fixed width, not the page's
    assert _font_sizes(one) == _font_sizes(three)


@pytest.mark.parametrize("count", range(2, 10))
def test_every_grade_colour_reads_on_white(count: int) -> None:
    assert all(contrast_ratio(color) >= 3.0 for color in ordinal_colors(count))


def test_segment_percentages_take_the_ink_that_contrasts_more() -> None:
    bar = Bar("a vs b", (0.55, 0.07, 0.38), "note")  # no axis tick reads 55%, 7% or 38%
    svg = stacked_bars_svg("ink", [Panel("all", (bar,))], ["a", "tie", "b"], WIN_TIE_LOSS_COLORS)
    inks = {text: fill for fill, text in re.findall(r'fill: (#[0-9a-f]+)"[^>]*>(\d+%)</text>', svg)}
    assert [inks[share] for share in ("55%", "7%", "38%")] == ["#ffffff", "#0f172a", "#0f172a"]
    orange = WIN_TIE_LOSS_COLORS[2]
    assert contrast_ratio("#ffffff", orange) < 3.0 < contrast_ratio("#0f172a", orange)  # white would not read


def test_contrast_ratio_matches_known_values() -> None:
    assert contrast_ratio("#000000") == pytest.approx(21.0)
    assert contrast_ratio("#ffffff") == pytest.approx(1.0)
    assert contrast_ratio("#767676") == pytest.approx(4.54, abs=0.01)


def test_likert_block_lists_the_whole_scale(ctx: ReportContext, html: str) -> None:
    [block] = [b for b in ctx.grades if b.scale == LIKERT_SCALE]
    assert block.labels == ("1", "2", "3", "4", "5", "6")
    assert all(row.counts["6"] == 0 and row.counts["1"] == 0 for row in block.rows)
    chart = block.chart
    assert "Stacked shares: 1, 2, 3, 4, 5, 6" in chart


def test_grades_have_a_category_table_and_chart_with_intervals(ctx: ReportContext, html: str) -> None:
    block = ctx.grades[0]
    categories = {row.group for row in block.category_rows}
    assert categories == {p.category for p in showcase_prompts()}
    assert len(block.category_charts) == 4  # one per system
    grades = _section(html, "grades")
    assert "grade-categories" in grades
    poetry = next(row for row in block.category_rows if row.group == "poetry")
    low, high = poetry.share_ci[block.labels[-1]]
    assert ci(low, high) in grades


def test_pairwise_category_chart_has_whiskers(ctx: ReportContext) -> None:
    view = ctx.pairwise[0].comparisons[0]
    assert view.category_chart is not None
    whiskers = re.findall(r'id="[^"]*-cat-whisker-0-\d+"', view.category_chart.chart)
    assert len(whiskers) == len(view.categories) == 5


def test_small_categories_get_wide_intervals_and_a_flag(ctx: ReportContext, html: str) -> None:
    pairwise = _section(html, "pairwise")
    for view in ctx.pairwise[0].comparisons:
        for rate in view.categories:
            assert rate.ci_low < rate.ci_high, (rate.group, rate.n)
            if rate.n <= 5:
                assert rate.ci_high - rate.ci_low > 0.3
    assert pairwise.count('class="small-n"') >= 3 * 3  # writing, math, poetry in every comparison
    assert re.search(r"\[(\d+\.\d), \1\]", pairwise) is None  # no [x, x] interval anywhere


def test_probability_weighted_rate_uses_the_verdicts_that_have_them(ctx: ReportContext, html: str) -> None:
    overall = ctx.pairwise[0].comparisons[0].overall
    assert overall is not None
    assert (overall.expected_n, overall.n) == (40 - len(WITHOUT_PROBABILITIES), 40)
    assert f"from {overall.expected_n} of {overall.n}" in _section(html, "pairwise")


def test_a_blank_probability_cell_says_why(html: str) -> None:
    judge_block = re.search(r'id="pairwise-s0".*?</table>', _section(html, "pairwise"), re.S)
    assert judge_block is not None
    # the comparison judged without probabilities: its three rows (all, in, out) explain the dash
    assert judge_block.group(0).count('<span class="why" title="None of these 20 verdicts') == 2
    assert judge_block.group(0).count('<span class="why" title="None of these 40 verdicts') == 1


def test_self_preference_is_one_line_per_family(html: str) -> None:
    judges = _section(html, "judges")
    lines = re.findall(r'<li class="self-preference">.*?</li>', judges, re.S)
    assert len(lines) == 1
    assert "gpt-4o-mini" in lines[0] and "gpt-4-turbo" in lines[0] and "lima-7b" not in lines[0]


def test_prompt_set_path_is_shortened_with_the_full_path_in_a_title(html: str) -> None:
    run = _section(html, "run")
    assert f'title="{PROMPT_SET}">lima-style-eval-v3.jsonl<' in run


def test_annotators_get_first_position_preference(ctx: ReportContext, html: str) -> None:
    [position] = ctx.judges.human_positions
    assert position.source == ANNOTATOR and position.shuffled
    assert position.ci_low < position.share < position.ci_high
    assert 'id="human-positions"' in _section(html, "judges")


def test_headline_prints_the_leaders_interval_in_points(ctx: ReportContext, html: str) -> None:
    [best] = ctx.headline.best
    assert best.ci_low < best.score < best.ci_high  # the interval is on the points scale
    assert f"{ci(best.ci_low, best.ci_high, percent=False)})" in _section(html, "headline")


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        (PROMPT_SET, "lima-style-eval-v3.jsonl"),
        ("C:\\data\\sets\\mine.jsonl", "mine.jsonl"),
        ("lima-test", "lima-test"),
        ("tatsu-lab/alpaca_eval", "tatsu-lab/alpaca_eval"),  # a hub name, not a file: kept whole
    ],
)
def test_prompt_set_name_shortens_file_paths_only(ctx: ReportContext, given: str, shown: str) -> None:
    assert replace(ctx.header, prompt_set=given).prompt_set_name == shown
