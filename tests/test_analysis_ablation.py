"""Ablation section and Run.ablation on an offline run whose systems carry attributes."""

from __future__ import annotations

from pathlib import Path

import pytest

import evalkit
from evalkit.analysis.ablation import run_ablations
from evalkit.errors import ConfigError
from evalkit.records import Grade
from evalkit.runner.config import parse_config
from evalkit.runner.meta import RunMeta, RunRecords
from tests.pipeline_helpers import write_prompt_set, write_run_config

SYSTEMS = [
    {"name": "zero", "model": "fake/constant", "options": {"text": "No."},
     "attributes": {"examples": 0, "quality": "none"}},
    {"name": "one", "model": "fake/constant", "options": {"text": "Yes."},
     "attributes": {"examples": 1, "quality": "good"}},
    {"name": "three", "model": "fake/echo", "attributes": {"examples": 3, "quality": "good"}},
]  # fmt: skip


def test_attributes_give_an_ablation_section(tmp_path: Path) -> None:
    write_prompt_set(tmp_path, 6)
    judges = [{"judge": "helpfulness-6", "model": "fake/constant", "options": {"text": "4"}}]
    run = evalkit.run(
        write_run_config(tmp_path, systems=SYSTEMS, judges=judges, baseline=None), progress=False
    )
    [found] = run.ablation()
    assert found.score.startswith("mean helpfulness-1-6")
    assert {p.system: p.score for p in found.points} == {"zero": 4.0, "one": 4.0, "three": 4.0}
    [trend] = found.trends
    assert trend.attribute == "examples" and trend.slope == pytest.approx(0.0)
    assert {(c.value, c.systems) for c in found.categories} == {
        ("none", ("zero",)),
        ("good", ("one", "three")),
    }
    html = (run.path / "report.html").read_text()
    assert 'id="ablation"' in html and 'href="#ablation"' in html
    assert "Against examples" in html and "By quality" in html
    assert "no clear effect at this sample size" in html
    # A judge that gives every answer "4" cannot tell the systems apart: the report says so.
    assert 'class="banner warn uninformative"' in html


def test_a_score_that_varies_is_not_flagged(tmp_path: Path) -> None:
    write_prompt_set(tmp_path, 6)
    grades = ["2", "5", "3", "6", "1"]
    judges = [{"judge": "helpfulness-6", "model": "fake/script", "options": {"responses": grades}}]
    run = evalkit.run(
        write_run_config(tmp_path, systems=SYSTEMS, judges=judges, baseline=None), progress=False
    )
    [found] = run.ablation()
    assert len({p.score for p in found.points}) > 1
    html = (run.path / "report.html").read_text()
    assert 'id="ablation"' in html and "uninformative" not in html


def test_no_section_when_no_attribute_varies(tmp_path: Path) -> None:
    write_prompt_set(tmp_path, 2)
    run = evalkit.run(write_run_config(tmp_path), progress=False)
    assert run.ablation() == []
    assert 'id="ablation"' not in (run.path / "report.html").read_text()


def test_attribute_values_must_be_scalars() -> None:
    data = {
        "name": "x",
        "prompts": "lima_style",
        "systems": [{"name": "a", "model": "fake/echo", "attributes": {"examples": [1, 2]}}],
    }
    with pytest.raises(ConfigError, match=r"systems.0.attributes.examples"):
        parse_config(data)


def test_fail_pass_excellent_grades_give_an_excellent_rate_and_a_mean() -> None:
    scores = {"excellent": 3.0, "pass": 2.0}
    labels = {
        "small": ["pass", "pass", "excellent", "pass"],
        "large": ["excellent", "excellent", "pass", "excellent"],
    }
    grades = [
        Grade(prompt_id=f"p{i}", system=name, scale="lima", source="llm:j", label=label, score=scores[label])
        for name, row in labels.items()
        for i, label in enumerate(row)
    ]
    config = parse_config(
        {
            "name": "ablation",
            "prompts": "set.jsonl",
            "systems": [
                {"name": "small", "model": "fake/echo", "attributes": {"n": 1}},
                {"name": "large", "model": "fake/echo", "attributes": {"n": 2}},
            ],
        }
    )
    meta = RunMeta(config=config)
    found = run_ablations(RunRecords(grades=tuple(grades), meta=meta), [], n_boot=100)
    by_name = {a.score: a for a in found}
    assert set(by_name) == {"excellent rate, lima (llm:j)", "mean lima (llm:j)"}
    rate = by_name["excellent rate, lima (llm:j)"]
    assert {p.system: p.score for p in rate.points} == {"small": 0.25, "large": 0.75}
    assert rate.trends[0].slope == pytest.approx(0.5)
    assert by_name["mean lima (llm:j)"].trends[0].slope == pytest.approx(0.5)
