"""Verdict extraction on the messy corpus, and log-probability reading."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from evalkit.generators.base import TokenLogprob
from evalkit.judging import load_judge, parse_verdict
from evalkit.judging.extraction import clean, match_label
from evalkit.judging.logprobs import (
    label_distribution,
    normalize_token,
    read_probabilities,
    token_label,
    token_spans,
)
from tests.judging_helpers import VERDICTS_DIR


def _corpus() -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for path in sorted(VERDICTS_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            cases.append((path.stem, json.loads(line)))
    return cases


CORPUS = _corpus()


def test_corpus_is_broad() -> None:
    assert len(CORPUS) >= 40
    assert sum(case["expected"] is None for _, case in CORPUS) >= 15
    assert len({judge for judge, _ in CORPUS}) >= 5


@pytest.mark.parametrize(("judge", "case"), CORPUS, ids=[f"{j}:{c['case']}" for j, c in CORPUS])
def test_messy_verdict_corpus(judge: str, case: dict[str, Any]) -> None:
    spec = load_judge(judge)
    verdict = parse_verdict(case["text"], spec)
    found = verdict.aspects if spec.verdict.format == "aspects" else verdict.label
    assert found == case["expected"]
    assert verdict.parsed == (case["expected"] is not None)


def test_label_offset_points_at_the_verdict_not_earlier_mentions() -> None:
    spec = load_judge("pairwise-rationale")
    text = "A is longer than B.\nVerdict: B"
    verdict = parse_verdict(text, spec)
    assert verdict.label == "B"
    assert verdict.start == len(text) - 1
    assert verdict.rationale == "A is longer than B."


def test_label_name_offset_is_its_start() -> None:
    verdict = parse_verdict("A significantly better", load_judge("lima-pairwise"))
    assert (verdict.label, verdict.start) == ("A", 0)


def test_clean_and_match() -> None:
    assert clean("  **[[B]]**. ") == "B"
    assert clean("### `pass`!") == "pass"
    assert clean("> A") == "A"
    spec = load_judge("pairwise-5way")
    assert match_label("a>>b", spec) == "A>>B"
    assert match_label("A > B", spec) is None


@pytest.mark.parametrize("token", ["A", " A", "a", "▁A", "ĠA", "**A", "A:", "(A)"])
def test_tokenizer_variants_of_a_label(token: str) -> None:
    assert token_label(token, load_judge("lima-pairwise")) == "A"


@pytest.mark.parametrize("token", ["An", "The", "", " ", "AB"])
def test_non_label_tokens(token: str) -> None:
    assert token_label(token, load_judge("lima-pairwise")) is None


def test_unique_prefix_of_a_word_label() -> None:
    spec = load_judge("lima-grade")
    assert token_label(" excel", spec) == "excellent"
    assert token_label("Pass", spec) == "pass"
    assert token_label("e", spec) is None
    assert normalize_token("▁Fail") == "fail"


def test_distribution_sums_variants_and_renormalises() -> None:
    spec = load_judge("lima-pairwise")
    step = TokenLogprob(
        token="A",
        logprob=math.log(0.4),
        top=(("A", math.log(0.4)), (" A", math.log(0.2)), ("B", math.log(0.2)), ("The", math.log(0.1))),
    )
    probabilities = label_distribution(step, spec)
    assert probabilities is not None
    assert probabilities == pytest.approx({"A": 0.6 / 0.8, "B": 0.2 / 0.8, "N": 0.0})


def test_distribution_below_min_label_mass_is_not_trusted() -> None:
    spec = load_judge("lima-pairwise")
    step = TokenLogprob(token="A", logprob=math.log(0.3), top=(("A", math.log(0.3)), ("The", math.log(0.6))))
    assert label_distribution(step, spec) is None


def test_token_spans_handle_tokens_joined_without_separators() -> None:
    steps = [TokenLogprob(token=t, logprob=0.0) for t in ("Verdict", ":", " B")]
    assert token_spans("Verdict: B", steps) == [(0, 7), (7, 8), (8, 10)]


def test_probabilities_read_at_the_verdict_token_of_a_rationale() -> None:
    spec = load_judge("pairwise-rationale")
    text = "A is short.\nVerdict: B"
    tokens = ["A", " is", " short", ".\n", "Verdict", ":", " B"]
    steps = [TokenLogprob(token=t, logprob=math.log(0.9), top=((t, math.log(0.9)),)) for t in tokens]
    last_top = ((" B", math.log(0.7)), (" A", math.log(0.2)), (" N", math.log(0.1)))
    steps[-1] = TokenLogprob(token=" B", logprob=math.log(0.7), top=last_top)
    verdict = parse_verdict(text, spec)
    probabilities = read_probabilities(text, steps, verdict.start, spec)
    assert probabilities == pytest.approx({"A": 0.2, "B": 0.7, "N": 0.1})


def test_no_probabilities_without_a_parsed_verdict() -> None:
    spec = load_judge("lima-pairwise")
    steps = [TokenLogprob(token="A", logprob=math.log(0.9), top=(("A", math.log(0.9)),))]
    assert read_probabilities("A good one", steps, parse_verdict("A good one", spec).start, spec) is None


def test_corpus_files_are_valid_jsonl() -> None:
    for path in VERDICTS_DIR.glob("*.jsonl"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            case = json.loads(line)
            assert set(case) == {"case", "text", "expected"}, f"{path.name}:{number}"
    assert Path(VERDICTS_DIR).is_dir()
