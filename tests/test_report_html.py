"""The rendered report: untrusted text escaped, self-contained, charts inlined with unique ids."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from report_helpers import IMG_PAYLOAD, SCRIPT_PAYLOAD, make_records

from evalkit.records import Grade, Judgment, Prompt, Response
from evalkit.report import build_report, summary_html
from evalkit.report.charts import Bar, Panel, clean_svg, stacked_bars_svg
from evalkit.report.formatting import ci, pct
from evalkit.runner.meta import RunRecords
from evalkit.stats import reconcile, win_rates

TEMPLATES = Path(__file__).resolve().parents[1] / "evalkit" / "report" / "templates"


@pytest.fixture(scope="module")
def html(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = build_report(
        make_records(24, ("lima", "alpaca", "gpt")), tmp_path_factory.mktemp("r") / "report.html", n_boot=200
    )
    return path.read_text(encoding="utf-8")


def test_untrusted_text_is_escaped(html: str) -> None:
    assert SCRIPT_PAYLOAD not in html
    assert IMG_PAYLOAD not in html
    assert "&lt;script&gt;document.title=&#39;PWNED&#39;" in html
    assert "&lt;img src=x onerror=&#34;document.body.setAttribute(" in html
    assert "I cannot decide &lt;b&gt;between&lt;/b&gt; these." in html
    assert len(re.findall(r"<script\b", html)) == 1  # the report's own filter script
    assert "<img" not in html


def test_only_charts_are_marked_safe() -> None:
    uses = [
        match.group(0)
        for template in TEMPLATES.glob("*.j2")
        for match in re.finditer(r"\{\{[^}]*\|\s*safe[^}]*\}\}", template.read_text(encoding="utf-8"))
    ]
    assert uses
    assert all(re.fullmatch(r"\{\{ \w+\.chart \| safe \}\}", use) for use in uses), uses


def test_report_is_self_contained(html: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "@import" not in html and "<link" not in html
    assert "url(http" not in html


def test_charts_are_inline_svg_with_unique_ids(html: str) -> None:
    # win/tie/loss for the LLM judge and the human, humans beside the judge, grades, leaderboard; then
    # by category: one per comparison and source (2 judged by the LLM, 1 by the human) and one per
    # graded system (3)
    assert html.count("<svg") == 5 + 3 + 3
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html
    ids = re.findall(r'\sid="([^"]+)"', html)
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates
    for reference in re.findall(r"url\(#([^)]+)\)", html):
        assert reference in ids


def test_sections_and_numbers_are_present(html: str) -> None:
    records = make_records(24, ("lima", "alpaca", "gpt"))
    rates = win_rates(reconcile(records.judgments), {p.id: p for p in records.prompts}, n_boot=200)
    for rate in rates:
        assert pct(rate.win_rate) in html
        assert ci(rate.ci_low, rate.ci_high) in html
    for anchor in (
        'id="pairwise"',
        'id="grades"',
        'id="leaderboard"',
        'id="judges"',
        'id="failures"',
        'id="examples"',
    ):
        assert anchor in html
    assert "demonstrate the pipeline" in html and "local/gemma-3-270m" in html
    assert "Judge–human agreement" in html
    assert 'href="#p1-q001"' in html and 'id="p1-q001"' in html


def test_chart_text_is_escaped() -> None:
    svg = stacked_bars_svg(
        "t",
        [Panel("<i>panel</i>", (Bar("<b>sys</b> & co", (0.5, 0.25, 0.25), "n=<1>"),))],
        ["<w>", "t", "l"],
        ["#000", "#888", "#fff"],
    )
    assert "&lt;b&gt;sys&lt;/b&gt; &amp; co" in svg
    assert "<b>" not in svg and "<i>" not in svg and "<w>" not in svg
    assert svg.startswith("<svg") and 'class="chart"' in svg


def test_clean_svg_prefixes_ids_and_references() -> None:
    raw = (
        '<?xml version="1.0"?>\n<!DOCTYPE svg>\n<svg width="10pt" height="5pt" viewBox="0 0 10 5">'
        '<metadata>x</metadata><style>*{a:b}</style><!-- c --><defs><clipPath id="p1"/></defs>'
        '<g id="g1" clip-path="url(#p1)"><use xlink:href="#g1"/></g></svg>'
    )
    out = clean_svg(raw, "k", 'a "label"')
    assert out == (
        '<svg class="chart" style="width:10pt;max-width:100%" role="img" aria-label="a &quot;label&quot;"'
        ' viewBox="0 0 10 5">'
        '<defs><clipPath id="k-p1"/></defs>'
        '<g id="k-g1" clip-path="url(#k-p1)"><use xlink:href="#k-g1"/></g></svg>'
    )


def test_reports_are_reproducible(tmp_path: Path) -> None:
    records = make_records(10)
    first = build_report(records, tmp_path / "a.html", n_boot=100, seed=5).read_text(encoding="utf-8")
    second = build_report(records, tmp_path / "b.html", n_boot=100, seed=5).read_text(encoding="utf-8")
    assert first == second


def test_directory_target_and_title(tmp_path: Path) -> None:
    path = build_report(make_records(6), tmp_path, title="My <title>", n_boot=50)
    assert path == tmp_path / "report.html"
    assert "<title>My &lt;title&gt;</title>" in path.read_text(encoding="utf-8")


def test_empty_run_renders(tmp_path: Path) -> None:
    text = build_report(RunRecords(), tmp_path / "r.html", n_boot=10).read_text(encoding="utf-8")
    assert "No pairwise judgments in this run." in text
    assert "No absolute grades in this run." in text
    assert "unnamed run" in text
    assert "<svg" not in text


def test_probabilities_aspects_and_multi_turn(tmp_path: Path) -> None:
    prompts = (Prompt(id="d1", turns=("first <u>turn</u>", "second turn"), reference=("ref one", "ref two")),)
    responses = tuple(
        Response(prompt_id="d1", system=s, outputs=(f"{s} one", f"{s} two"), finish_reasons=("stop", "stop"))
        for s in ("x", "y")
    )
    judgments = tuple(
        Judgment(
            prompt_id="d1",
            model_a="x",
            model_b="y",
            order=o,
            source="llm:j",
            outcome="a",
            probabilities={"a": 0.7, "b": 0.2, "tie": 0.1},
        )
        for o in ("ab", "ba")
    )
    grades = (
        Grade(
            prompt_id="d1",
            system="x",
            scale="aspects",
            source="llm:g",
            label=None,
            aspects={"helpfulness": 4.0, "clarity": 5.0},
        ),
        Grade(prompt_id="d1", system="x", scale="lima-3", source="llm:g", label="pass", score=1.0, turn=1),
    )
    records = RunRecords(prompts=prompts, responses=responses, judgments=judgments, grades=grades)
    text = build_report(records, tmp_path / "r.html", n_boot=20).read_text(encoding="utf-8")
    assert "first &lt;u&gt;turn&lt;/u&gt;" in text and "ref two" in text
    assert "Probability-weighted" in text and "a: 70.0%" in text
    assert "lima-3/turn2" in text
    assert "Aspect means" in text and "helpfulness" in text


def test_summary_html_matches_stats() -> None:
    records = make_records(12)
    fragment = summary_html(records)
    rate = win_rates(reconcile(records.judgments), {p.id: p for p in records.prompts}, n_boot=2000, seed=0)[0]
    assert f"<b>{pct(rate.win_rate)}</b>" in fragment
    assert ci(rate.ci_low, rate.ci_high) in fragment
    assert "<script" not in fragment and "<svg" not in fragment
    assert fragment.lstrip().startswith('<div class="evalkit-summary">')
    assert "Absolute grades" in fragment


def test_everything_is_visible_without_the_script(html: str) -> None:
    assert '<form class="filters" id="filters" hidden>' in html
    assert not re.search(r"<article[^>]*\bhidden\b", html)
    assert html.count('<article class="example"') == 24
    assert "<noscript>" in html
