"""The human labels section: bars beside the judges', agreement with intervals, corrected win rates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from report_helpers import ANNOTATORS, GRADE_SOURCE, PAIR_SOURCE, SECOND_JUDGE, make_human_study, make_records

from evalkit.records import Judgment
from evalkit.report import build_report
from evalkit.report.context import verdicts_of
from evalkit.report.formatting import ci, num, pct
from evalkit.runner.meta import RunRecords
from evalkit.stats import corrected_win_rates, grade_agreement, pairwise_agreement, run_verdicts

N_BOOT = 200


@pytest.fixture(scope="module")
def study() -> RunRecords:
    return make_human_study()


@pytest.fixture(scope="module")
def html(study: RunRecords, tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_report(study, tmp_path_factory.mktemp("h") / "report.html", n_boot=N_BOOT).read_text("utf-8")


def section(html: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}".*?</section>', html, re.S)
    assert match, section_id
    return match.group(0)


def test_the_section_is_linked_and_names_every_annotator(html: str) -> None:
    humans = section(html, "humans")
    assert '<a href="#humans">Humans</a>' in html
    for annotator in ANNOTATORS:
        assert f"<code>{annotator}</code>" in humans


def test_human_bars_sit_above_each_judges_bars_per_split(html: str) -> None:
    svgs = re.findall(r"<svg.*?</svg>", section(html, "humans"), re.S)
    assert len(svgs) == 1
    chart = svgs[0]
    for title in ("All prompts", "In-distribution", "Out-of-distribution"):
        assert title in chart
    humans_bar = chart.index("lima vs alpaca · humans")
    assert (
        humans_bar
        < chart.index(f"lima vs alpaca · {PAIR_SOURCE}")
        < chart.index(f"lima vs alpaca · {SECOND_JUDGE}")
    )
    # "cy" labeled the pair shown as (alpaca, lima): pooled into the judges' orientation, no bar of its own
    assert "alpaca vs lima" not in chart


def test_corrected_win_rates_sit_next_to_the_judge_only_numbers(study: RunRecords, html: str) -> None:
    prompts = {p.id: p for p in study.prompts}
    rows = corrected_win_rates(verdicts_of(study), prompts, by="split")
    [overall] = corrected_win_rates(
        [v for v in run_verdicts(study.judgments) if v.source in (SECOND_JUDGE, *ANNOTATORS)], prompts
    )
    humans = section(html, "humans")
    assert "Judge win rates corrected by human labels" in humans
    for row in [*rows, overall]:
        cells = f'{pct(row.win_rate)} <span class="ci">{ci(row.ci_low, row.ci_high)}</span>'
        assert cells in humans
        judge_only = (
            f'{pct(row.judge_win_rate)} <span class="ci">{ci(row.judge_ci_low, row.judge_ci_high)}</span>'
        )
        assert judge_only in humans
    assert f"{num(overall.lam)}</td>" in humans
    pairwise = section(html, "pairwise")
    judge_block = re.search(r'id="pairwise-s1".*?</table>', pairwise, re.S)
    assert judge_block and "Human-corrected" in judge_block.group(0)
    assert (
        f'{pct(overall.win_rate)}</a> <span class="ci">{ci(overall.ci_low, overall.ci_high)} n=' in pairwise
    )
    human_blocks = [
        b for b in re.findall(r'<div class="judge-block".*?</table>', pairwise, re.S) if "human:" in b
    ]
    assert human_blocks and not any("Human-corrected" in b for b in human_blocks)


def test_agreement_tables_show_intervals_and_n(study: RunRecords, html: str) -> None:
    prompts = {p.id: p for p in study.prompts}
    stats = pairwise_agreement(run_verdicts(study.judgments), prompts, n_boot=N_BOOT)
    humans = section(html, "humans")
    for title in ("Judge–human agreement", "Human–human agreement", "Agreement on grades"):
        assert title in humans
    for stat in stats:
        if stat.group != "all" or stat.measure != "tie_discounted_accuracy" or "humans" not in stat.source_y:
            continue
        assert f'{pct(stat.value)}<br><span class="ci">{ci(stat.ci_low, stat.ci_high)}' in humans
        assert f'<td class="num">{stat.n}<br><span class="ci">{stat.n_prompts} prompts</span></td>' in humans
    grades = grade_agreement(study.grades, prompts, n_boot=N_BOOT)
    kappa = next(s for s in grades if s.source_x == GRADE_SOURCE and s.measure == "cohens_kappa")
    assert (
        f'{num(kappa.value)}<br><span class="ci">{ci(kappa.ci_low, kappa.ci_high, percent=False, digits=2)}'
        in humans
    )
    assert humans.count("Confusion matrices") == 3  # judge–human, human–human, grades


def test_judge_diagnostics_leave_humans_out(html: str) -> None:
    judges = section(html, "judges")
    diagnostics = re.search(r"<table.*?</table>", judges, re.S)
    assert diagnostics and PAIR_SOURCE in diagnostics.group(0)
    assert "human:" not in diagnostics.group(0)
    assert "Judge–judge agreement" in judges  # the two LLM judges, with intervals
    assert 'href="#humans"' in judges


def test_a_run_without_human_labels_has_no_section(tmp_path: Path) -> None:
    html = build_report(make_records(12, humans=False), tmp_path / "r.html", n_boot=50).read_text("utf-8")
    assert 'id="humans"' not in html and 'href="#humans"' not in html
    assert "Human-corrected" not in html
    assert "Agreement tables appear when two or more sources" in html


def test_annotator_names_are_escaped(study: RunRecords, tmp_path: Path) -> None:
    hostile = "human:<script>alert(1)</script>"
    extra = tuple(
        Judgment(
            prompt_id=j.prompt_id,
            model_a=j.model_a,
            model_b=j.model_b,
            order="ab",
            source=hostile,
            outcome="a",
        )
        for j in study.judgments
        if j.source == PAIR_SOURCE and j.order == "ab"
    )
    records = study.model_copy(update={"judgments": study.judgments + extra})
    html = build_report(records, tmp_path / "r.html", n_boot=20).read_text("utf-8")
    assert "<script>alert(1)" not in html
    assert "human:&lt;script&gt;alert(1)&lt;/script&gt;" in section(html, "humans")
