"""LLMPairwiseJudge with the fake backend: orders, re-ask, failures, probabilities, provenance."""

from __future__ import annotations

import pytest

from evalkit.errors import ConfigError
from evalkit.generators.fake import create
from evalkit.judging import (
    REASK_SEPARATOR,
    LLMGrader,
    LLMPairwiseJudge,
    canonical_outcome,
    canonical_score,
    expected_score,
    load_judge,
    make_judge,
    template_hash,
)
from tests.judging_helpers import Recorder, prompt, response, scripted

MODEL = "fake/script"
A = response("alpha", "Paris.")
B = response("beta", "Lyon, I think.")


def judge(name: str = "lima-pairwise", **options: bool) -> LLMPairwiseJudge:
    built = make_judge(load_judge(name), MODEL, **options)
    assert isinstance(built, LLMPairwiseJudge)
    return built


@pytest.mark.parametrize(
    ("shown", "order", "expected"),
    [
        ("first", "ab", "a"),
        ("second", "ab", "b"),
        ("first", "ba", "b"),
        ("second", "ba", "a"),
        ("tie", "ba", "tie"),
    ],
)
def test_canonical_outcome(shown: str, order: str, expected: str) -> None:
    assert canonical_outcome(shown, order) == expected  # type: ignore[arg-type]


async def test_verdict_maps_back_to_canonical_terms_for_both_orders() -> None:
    model = scripted("A")
    ab = await judge().judge(model.complete, prompt(), A, B, "ab")
    ba = await judge().judge(model.complete, prompt(), A, B, "ba")
    assert (ab.outcome, ab.label, ab.order) == ("a", "A", "ab")
    assert (ba.outcome, ba.label, ba.order) == ("b", "A", "ba")
    assert (ab.model_a, ab.model_b, ab.prompt_id) == ("alpha", "beta", "p1")


async def test_order_decides_which_response_is_shown_first() -> None:
    recorder = Recorder(scripted("N"))
    await judge().judge(recorder, prompt(), A, B, "ba")
    user = recorder.requests[0].messages[-1].content
    assert user.index("Lyon, I think.") < user.index("Paris.")
    assert recorder.requests[0].messages[0].role == "system"


async def test_default_source_and_provenance() -> None:
    spec = load_judge("lima-pairwise")
    verdict = await judge().judge(scripted("B").complete, prompt(), A, B, "ab")
    assert verdict.source == "llm:lima-pairwise@fake/script"
    provenance = verdict.provenance
    assert provenance is not None
    assert (provenance.judge, provenance.judge_version, provenance.model_spec) == (
        "lima-pairwise",
        "1.0",
        MODEL,
    )
    assert provenance.model_id == "fake-script"
    assert provenance.template_hash == template_hash(spec)
    assert provenance.params["temperature"] == 0.0
    assert provenance.params["max_tokens"] == spec.params.max_tokens
    assert provenance.params["top_logprobs"] is None


async def test_custom_source() -> None:
    custom = LLMPairwiseJudge(load_judge("lima-pairwise"), MODEL, source="llm:mine")
    assert (await custom.judge(scripted("A").complete, prompt(), A, B, "ab")).source == "llm:mine"


async def test_unparsed_answer_is_reasked_once_with_the_previous_answer() -> None:
    recorder = Recorder(scripted("Both are fine really.", "B"))
    verdict = await judge().judge(recorder, prompt(), A, B, "ab")
    assert (verdict.outcome, verdict.label) == ("b", "B")
    assert len(recorder.requests) == 2
    follow_up = recorder.requests[1]
    assert follow_up.messages[:-2] == recorder.requests[0].messages
    assert follow_up.messages[-2].role == "assistant"
    assert follow_up.messages[-2].content == "Both are fine really."
    assert "exactly one of: A, B, N" in follow_up.messages[-1].content
    assert follow_up.params.max_tokens == load_judge("lima-pairwise").verdict.reask_max_tokens
    assert verdict.raw == "Both are fine really." + REASK_SEPARATOR + "B"


async def test_still_unparsed_after_reask_is_kept_visible_and_not_scored() -> None:
    recorder = Recorder(scripted("Cannot say, sorry.", "Sorry, undecided."))
    verdict = await judge().judge(recorder, prompt(), A, B, "ab")
    assert verdict.outcome is None and verdict.label is None and verdict.error is None
    assert not verdict.parsed
    assert "Cannot say, sorry." in verdict.raw and "Sorry, undecided." in verdict.raw
    assert len(recorder.requests) == 2


async def test_generation_error_becomes_a_judgment() -> None:
    failing = create("fail", {"message": "judge backend down"})
    verdict = await judge().judge(failing.complete, prompt(), A, B, "ba")
    assert verdict.outcome is None
    assert verdict.error == "judge backend down"
    assert verdict.provenance is not None and verdict.provenance.model_id == ""


async def test_failed_response_is_not_judged() -> None:
    model = scripted("A")
    broken = response("beta", error="timeout")
    verdict = await judge().judge(model.complete, prompt(), A, broken, "ab")
    assert verdict.outcome is None
    assert verdict.error is not None and "'beta'" in verdict.error
    assert model.calls == 0


async def test_logprob_probabilities_are_canonical_under_order_ba() -> None:
    model = scripted("A", alternatives=["B", "N"], confidence=0.7)
    ba = await judge(supports_logprobs=True).judge(model.complete, prompt(), A, B, "ba")
    # Shown first (A) is model_b in order "ba": P(b) = 0.7, P(a) = P(shown B) = 0.15.
    assert ba.probabilities == pytest.approx({"a": 0.15, "b": 0.7, "tie": 0.15})
    assert (ba.outcome, ba.label) == ("b", "A")
    ab = await judge(supports_logprobs=True).judge(model.complete, prompt(), A, B, "ab")
    assert ab.probabilities == pytest.approx({"a": 0.7, "b": 0.15, "tie": 0.15})
    assert expected_score(ab.probabilities or {}) == pytest.approx(0.7 + 0.075)


async def test_logprob_request_asks_for_top_alternatives() -> None:
    recorder = Recorder(scripted("N", alternatives=["A", "B"]))
    verdict = await judge(supports_logprobs=True).judge(recorder, prompt(), A, B, "ab")
    assert recorder.requests[0].top_logprobs == load_judge("lima-pairwise").logprobs.top  # type: ignore[union-attr]
    assert verdict.outcome == "tie"
    assert verdict.provenance is not None and verdict.provenance.params["top_logprobs"] == 10


async def test_outcome_is_the_argmax_of_probabilities() -> None:
    # The text says "A" but the label tokens put more mass on B once variants are summed.
    model = scripted("A", alternatives=["B", " B", "b"], confidence=0.4)
    verdict = await judge(supports_logprobs=True).judge(model.complete, prompt(), A, B, "ab")
    assert verdict.probabilities == pytest.approx({"a": 0.4, "b": 0.6, "tie": 0.0})
    assert (verdict.outcome, verdict.label) == ("b", "B")


async def test_equal_top_probabilities_make_a_tie_without_a_label() -> None:
    model = scripted("A", alternatives=["B"], confidence=0.5)
    verdict = await judge(supports_logprobs=True).judge(model.complete, prompt(), A, B, "ba")
    assert verdict.probabilities == pytest.approx({"a": 0.5, "b": 0.5, "tie": 0.0})
    assert (verdict.outcome, verdict.label) == ("tie", None)


async def test_rationale_judge_keeps_rationale_and_reads_final_line() -> None:
    text = "Answer A is right and B is wrong about the city. Verdict: A"
    verdict = await judge("pairwise-rationale").judge(
        scripted(text.replace(" Verdict", "\nVerdict")).complete, prompt(), A, B, "ba"
    )
    assert (verdict.outcome, verdict.label) == ("b", "A")
    assert verdict.rationale == "Answer A is right and B is wrong about the city."


async def test_five_way_label_outcome_and_weighted_score() -> None:
    spec = load_judge("pairwise-5way")
    five = judge("pairwise-5way")
    cases = [
        ("A>>B", "ab", "a", 1.0),
        ("A>B", "ba", "b", 0.25),
        ("A=B", "ab", "tie", 0.5),
        ("A<B", "ab", "b", 0.25),
        ("B>>A", "ba", "a", 1.0),
    ]
    for label, order, outcome, score in cases:
        verdict = await five.judge(scripted(f"Reasons.\nVerdict: {label}").complete, prompt(), A, B, order)
        assert verdict.outcome == outcome, label
        assert verdict.label == spec.labels[[lb.code for lb in spec.labels].index(verdict.label or "")].code
        assert canonical_score(verdict, spec) == pytest.approx(score), label


async def test_custom_five_way_weights_change_the_score() -> None:
    spec = load_judge("pairwise-5way")
    mild = spec.model_copy(
        update={
            "labels": tuple(
                lb.model_copy(update={"weight": 0.6}) if lb.code == "A>B" else lb for lb in spec.labels
            )
        }
    )
    verdict = await judge("pairwise-5way").judge(scripted("Verdict: A>B").complete, prompt(), A, B, "ba")
    assert canonical_score(verdict, mild) == pytest.approx(0.4)
    assert canonical_score(verdict.model_copy(update={"label": None}), mild) is None


async def test_repeated_samples_use_resample_temperature_and_distinct_seeds() -> None:
    recorder = Recorder(scripted("A"))
    first = await judge().judge(recorder, prompt(), A, B, "ab", sample=0)
    third = await judge().judge(recorder, prompt(), A, B, "ab", sample=2)
    p0, p2 = recorder.requests[0].params, recorder.requests[1].params
    assert (p0.temperature, p0.seed) == (0.0, 0)
    assert (p2.temperature, p2.seed) == (0.7, 2)
    assert third.sample == 2 and first.sample == 0
    resampled = await judge().judge(
        recorder, prompt(), A.model_copy(update={"sample": 1}), B.model_copy(update={"sample": 1}), "ab"
    )
    assert resampled.response_sample == 1 and first.response_sample == 0
    assert third.provenance is not None and third.provenance.params["temperature"] == 0.7


async def test_structured_output_request_and_json_answer() -> None:
    recorder = Recorder(scripted('{"rationale": "B is wrong.", "verdict": "A"}'))
    verdict = await judge("pairwise-rationale", supports_structured=True).judge(
        recorder, prompt(), A, B, "ab"
    )
    request = recorder.requests[0]
    assert request.response_format is not None
    schema = request.response_format["json_schema"]["schema"]
    assert schema["properties"]["verdict"]["enum"] == ["A", "B", "N"]
    assert schema["required"] == ["rationale", "verdict"]
    assert "JSON object" in request.messages[-1].content
    assert (verdict.outcome, verdict.rationale) == ("a", "B is wrong.")


async def test_reference_guided_judge_shows_reference_and_flags_judgment() -> None:
    recorder = Recorder(scripted("Checked.\nVerdict: N"))
    with_reference = prompt("p1", "What is 6 x 7?", reference=["42"])
    verdict = await judge("reference-pairwise").judge(recorder, with_reference, A, B, "ab")
    assert verdict.reference_guided is True and verdict.outcome == "tie"
    assert "<reference_answer>\n42\n</reference_answer>" in recorder.requests[0].messages[-1].content


async def test_reference_guided_judge_without_reference_records_an_error() -> None:
    model = scripted("Verdict: A")
    verdict = await judge("reference-pairwise").judge(model.complete, prompt(), A, B, "ab")
    assert verdict.outcome is None
    assert verdict.error is not None and "no reference answer" in verdict.error
    assert model.calls == 0


async def test_whole_conversation_pairwise_shows_every_turn() -> None:
    recorder = Recorder(scripted("B"))
    dialogue = prompt("d1", "Hi, plan a trip.", "Make it cheaper.")
    first = response("alpha", "Rome for a week.", "Stay in hostels.", prompt_id="d1")
    second = response("beta", "Paris.", "Walk everywhere.", prompt_id="d1")
    verdict = await judge("multi-turn-pairwise").judge(recorder, dialogue, first, second, "ab")
    user = recorder.requests[0].messages[-1].content
    for text in ("Hi, plan a trip.", "Make it cheaper.", "Stay in hostels.", "Walk everywhere."):
        assert text in user
    assert verdict.outcome == "b"


def test_request_is_available_without_calling() -> None:
    request = judge().request(prompt(), A, B)
    assert request.messages[-1].content.rstrip().endswith("### Verdict")
    assert request.top_logprobs is None and request.response_format is None


def test_kind_mismatch_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="is a grade judge"):
        LLMPairwiseJudge(load_judge("lima-grade"), MODEL)
    with pytest.raises(ConfigError, match="is a pairwise judge"):
        LLMGrader(load_judge("lima-pairwise"), MODEL)
    assert isinstance(make_judge(load_judge("lima-grade"), MODEL), LLMGrader)


async def test_text_prompt_for_base_models() -> None:
    recorder = Recorder(scripted("Hmm, hard.", "B"))
    text_judge = make_judge(load_judge("lima-pairwise"), MODEL, text_prompt=True)
    assert isinstance(text_judge, LLMPairwiseJudge)
    verdict = await text_judge.judge(recorder, prompt(), A, B, "ab")
    first, follow_up = recorder.requests
    assert first.messages == () and first.prompt is not None
    assert first.prompt.startswith("You compare two answers") and first.prompt.endswith("### Verdict\n")
    assert follow_up.prompt is not None
    assert follow_up.prompt.startswith(first.prompt + "Hmm, hard.\n\n")
    assert follow_up.prompt.endswith("Nothing else.\n")
    assert verdict.outcome == "b"
    assert verdict.provenance is not None and verdict.provenance.params["text_prompt"] is True
