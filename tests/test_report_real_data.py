"""A report over real public judgments: 300 AlpacaEval prompts, two systems, GPT-4 preferences."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from evalkit.records import (
    IN_DISTRIBUTION,
    OUT_OF_DISTRIBUTION,
    Judgment,
    Outcome,
    Prompt,
    Response,
)
from evalkit.report import build_report
from evalkit.report.context import build_context
from evalkit.report.pairwise_view import StatSettings
from evalkit.runner.meta import RunMeta, RunRecords

ANNOTATIONS = Path("alpaca_eval") / "results" / "claude-2" / "alpaca_eval_gpt4" / "annotations.json"
N_PROMPTS = 300
SOURCE = "llm:alpaca_eval_gpt4"
PREFERENCE: dict[Any, Outcome] = {1.0: "a", 2.0: "b", 1.5: "tie"}
# Only for exercising split facets: the datasets AlpacaEval draws from, read as two groups.
IN_DISTRIBUTION_SETS = {"selfinstruct", "helpful_base"}


def _records(rows: list[dict[str, Any]]) -> RunRecords:
    prompts, responses, judgments = [], [], []
    for i, row in enumerate(rows):
        pid = f"ae{i:03d}"
        split = IN_DISTRIBUTION if row["dataset"] in IN_DISTRIBUTION_SETS else OUT_OF_DISTRIBUTION
        prompts.append(Prompt(id=pid, turns=(row["instruction"],), category=row["dataset"], split=split))
        for side in ("1", "2"):
            responses.append(
                Response(prompt_id=pid, system=row[f"generator_{side}"], outputs=(row[f"output_{side}"],))
            )
        judgments.append(
            Judgment(
                prompt_id=pid,
                model_a=row["generator_1"],
                model_b=row["generator_2"],
                order="ab",
                source=SOURCE,
                outcome=PREFERENCE.get(row["preference"]),
                raw=f"preference: {row['preference']}",
            )
        )
    meta = RunMeta(name="alpaca-eval-claude-2", prompt_set="alpaca_eval (first 300)")
    return RunRecords(
        prompts=tuple(prompts), responses=tuple(responses), judgments=tuple(judgments), meta=meta
    )


@pytest.fixture(scope="module")
def rows(shared_data: Path) -> list[dict[str, Any]]:
    path = shared_data / ANNOTATIONS
    if not path.is_file():
        pytest.skip(f"AlpacaEval annotations not found at {path}")
    return json.loads(path.read_text(encoding="utf-8"))[:N_PROMPTS]


def test_counts_match_the_published_preferences(rows: list[dict[str, Any]]) -> None:
    expected = Counter(PREFERENCE.get(row["preference"]) for row in rows)
    ctx = build_context(_records(rows), settings=StatSettings(n_boot=200), charts=False, examples=False)
    overall = ctx.pairwise[0].comparisons[0].overall
    assert overall is not None
    assert (overall.wins, overall.ties, overall.losses) == (expected["a"], expected["tie"], expected["b"])
    assert overall.unresolved == expected[None]
    assert len(ctx.failures.unparsed_verdicts) == expected[None]


def test_report_size_for_300_prompts_and_two_systems(rows: list[dict[str, Any]], tmp_path: Path) -> None:
    path = build_report(_records(rows), tmp_path / "report.html")
    size = path.stat().st_size
    text_bytes = sum(len(row[k].encode()) for row in rows for k in ("instruction", "output_1", "output_2"))
    print(
        f"report: {size / 1e6:.2f} MB for {N_PROMPTS} prompts x 2 systems; raw text {text_bytes / 1e6:.2f} MB"
    )
    assert size < 2.5 * text_bytes + 500_000  # overhead stays proportional to the text it must show
    html = path.read_text(encoding="utf-8")
    assert html.count('class="example"') == N_PROMPTS
