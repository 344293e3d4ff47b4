"""Constrained verdicts: the grammar of each shipped judge, and how the engine asks for it."""

from __future__ import annotations

import re

import pytest

from evalkit.judging import JudgeSpec, LLMGrader, LLMPairwiseJudge, list_judges, load_judge, parse_verdict
from evalkit.judging.constrained import (
    constrained_max_tokens,
    literal,
    longest_answer,
    rationale_chars,
    verdict_grammar,
    verdict_marker,
)
from tests.judging_helpers import JUDGES_DIR, Recorder, prompt, response, scripted

SHIPPED = [spec.name for spec in list_judges(search_dirs=[JUDGES_DIR])]


def widest_answer(spec: JudgeSpec, rationale: str) -> str:
    """The longest verdict a judge's grammar allows, written out (last label, top aspect scores)."""
    if spec.verdict.format == "aspects":
        scores = ", ".join(f'"{a.name}": {a.maximum}' for a in spec.aspects)
        return "{" + scores + "}"
    label = max(spec.label_order, key=len)
    if spec.verdict.format == "label":
        return label
    return f"{rationale}\n{verdict_marker(spec)}: {label}"


def test_every_shipped_judge_is_covered() -> None:
    assert len(SHIPPED) >= 10 and {"helpfulness-6", "aspects-5", "multi-turn-grade"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_the_widest_answer_the_grammar_allows_parses_and_fits_the_budget(name: str) -> None:
    spec = load_judge(name)
    budget = constrained_max_tokens(spec, spec.params.max_tokens)
    text = widest_answer(spec, "x" * rationale_chars(spec, budget))
    assert len(text) <= budget  # a token holds at least one character: the verdict always fits
    verdict = parse_verdict(text, spec)
    assert verdict.parsed, text
    if spec.verdict.format != "aspects":
        assert verdict.label == max(spec.label_order, key=len)


@pytest.mark.parametrize("name", SHIPPED)
def test_the_grammar_compiles_in_llama_cpp(name: str) -> None:
    grammar_module = pytest.importorskip("llama_cpp.llama_grammar")
    spec = load_judge(name)
    text = verdict_grammar(spec, constrained_max_tokens(spec, spec.params.max_tokens))
    assert grammar_module.LlamaGrammar.from_string(text, verbose=False) is not None


def test_label_grammar_allows_exactly_the_codes() -> None:
    spec = load_judge("helpfulness-6")
    grammar = verdict_grammar(spec, 4)
    assert grammar == 'root ::= label\nlabel ::= ("1" | "2" | "3" | "4" | "5" | "6")\n'


def test_final_line_grammar_bounds_the_rationale_by_the_budget() -> None:
    spec = load_judge("pairwise-5way")
    grammar = verdict_grammar(spec, 100)
    verdict_line = len("\nVerdict: ") + len("A<<B")
    assert longest_answer(spec) == verdict_line
    assert f"rationale ::= [^\\n]{{0,{100 - verdict_line}}}" in grammar
    assert 'root ::= rationale "\\nVerdict: " label' in grammar
    assert rationale_chars(spec, 5) == 0 and 'rationale ::= ""' in verdict_grammar(spec, 5)


def test_reference_grade_uses_its_own_marker() -> None:
    assert verdict_marker(load_judge("reference-grade")) == "Grade"


def test_aspects_grammar_spells_every_aspect_with_its_range() -> None:
    spec = load_judge("aspects-5")
    grammar = verdict_grammar(spec, 200)
    for aspect in spec.aspects:
        assert f'\\"{aspect.name}\\": " ("1" | "2" | "3" | "4" | "5")' in grammar
    assert grammar.startswith('root ::= "{" ')


def test_verdict_only_budgets_grow_to_the_longest_label() -> None:
    assert constrained_max_tokens(load_judge("lima-grade"), 4) == len("excellent")
    assert constrained_max_tokens(load_judge("helpfulness-6"), 4) == 4


def test_literals_escape_quotes_backslashes_and_new_lines() -> None:
    assert literal('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'


async def test_grammar_requests_keep_the_prompt_and_carry_the_grammar() -> None:
    spec = load_judge("lima-grade")
    grader = LLMGrader(spec, "fake/script", supports_grammar=True, supports_structured=True, text_prompt=True)
    plain = LLMGrader(spec, "fake/script", text_prompt=True)
    recorder = Recorder(scripted("excellent"))
    (grade,) = await grader.grade(recorder, prompt(), response("x", "Paris."))
    (request,) = recorder.requests
    assert request.prompt == plain.request(prompt(), response("x", "Paris.")).prompt  # no JSON instruction
    assert request.response_format == {"type": "grammar", "grammar": verdict_grammar(spec, 9)}
    assert request.params.max_tokens == 9
    assert grade.label == "excellent"
    assert grade.provenance is not None and grade.provenance.params["constrained"] == "grammar"
    assert grader.constraint == "grammar" and plain.constraint is None


async def test_the_re_ask_is_constrained_within_its_own_budget() -> None:
    spec = load_judge("pairwise-rationale")
    judge = LLMPairwiseJudge(spec, "fake/script", supports_grammar=True)
    recorder = Recorder(scripted("no verdict here", "fine\nVerdict: B"))
    judgment = await judge.judge(recorder, prompt(), response("a", "x"), response("b", "y"), "ab")
    first, again = recorder.requests
    assert first.params.max_tokens == spec.params.max_tokens
    assert again.params.max_tokens == spec.verdict.reask_max_tokens
    assert again.response_format is not None
    bound = re.search(r"\{0,(\d+)\}", again.response_format["grammar"])
    assert bound is not None and int(bound.group(1)) == rationale_chars(spec, spec.verdict.reask_max_tokens)
    assert judgment.outcome == "b"


def test_json_stays_available_without_a_grammar() -> None:
    spec = load_judge("lima-pairwise")
    judge = LLMPairwiseJudge(spec, "openai/x", supports_structured=True)
    request = judge.request(prompt(), response("a", "x"), response("b", "y"))
    assert request.response_format is not None and request.response_format["type"] == "json_schema"
    assert judge.constraint == "json"
