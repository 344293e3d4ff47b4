"""LLMGrader with the fake backend: scales, probabilities, aspects, per-turn dialogues, references."""

from __future__ import annotations

import pytest

from evalkit.generators.fake import create
from evalkit.judging import LLMGrader, load_judge, make_judge, scale_label_orders
from evalkit.judging.grader import LLMGrader as GraderClass
from tests.judging_helpers import JUDGES_DIR, Recorder, prompt, response, scripted

MODEL = "fake/script"
ANSWER = response("alpha", "Paris is the capital of France.")


def grader(name: str, **options: bool) -> LLMGrader:
    built = make_judge(load_judge(name), MODEL, **options)
    assert isinstance(built, GraderClass)
    return built


async def test_lima_grade_label_score_and_provenance() -> None:
    grades = await grader("lima-grade").grade(scripted("excellent").complete, prompt(), ANSWER)
    assert len(grades) == 1
    grade = grades[0]
    assert (grade.label, grade.score, grade.scale, grade.turn) == (
        "excellent",
        3.0,
        "fail-pass-excellent",
        None,
    )
    assert (grade.prompt_id, grade.system, grade.source) == ("p1", "alpha", "llm:lima-grade@fake/script")
    assert grade.provenance is not None and grade.provenance.judge == "lima-grade"
    assert grade.provenance.model_id == "fake-script"


async def test_grade_probabilities_and_argmax() -> None:
    model = scripted("pass", alternatives=["fail", "excellent", "Fail"], confidence=0.4)
    grade = (await grader("lima-grade", supports_logprobs=True).grade(model.complete, prompt(), ANSWER))[0]
    assert grade.probabilities == pytest.approx({"fail": 0.4, "pass": 0.4, "excellent": 0.2})
    # A tie in probability is not broken by guessing: the label the judge wrote stands.
    assert (grade.label, grade.score) == ("pass", 2.0)
    model = scripted("fail", alternatives=["pass", "excellent"], confidence=0.3)
    grade = (await grader("lima-grade", supports_logprobs=True).grade(model.complete, prompt(), ANSWER))[0]
    assert grade.probabilities == pytest.approx({"fail": 0.3, "pass": 0.35, "excellent": 0.35})
    assert grade.label == "fail"


async def test_likert_grade_reads_digit_probabilities() -> None:
    model = scripted("5", alternatives=["4", "6"], confidence=0.6)
    grade = (await grader("helpfulness-6", supports_logprobs=True).grade(model.complete, prompt(), ANSWER))[0]
    assert (grade.label, grade.score, grade.scale) == ("5", 5.0, "helpfulness-1-6")
    assert grade.probabilities == pytest.approx({"1": 0, "2": 0, "3": 0, "4": 0.2, "5": 0.6, "6": 0.2})


async def test_aspects_are_parsed_and_score_excludes_safety() -> None:
    text = '{"helpfulness":4,"clarity":5,"factuality":3,"depth":2,"engagement":1,"safety":5}'
    grade = (await grader("aspects-5").grade(scripted(text).complete, prompt(), ANSWER))[0]
    assert grade.aspects == {
        "helpfulness": 4,
        "clarity": 5,
        "factuality": 3,
        "depth": 2,
        "engagement": 1,
        "safety": 5,
    }
    assert grade.score == pytest.approx(3.0)
    assert grade.label is None and grade.parsed and grade.scale == "aspects-1-5"


async def test_aspects_incomplete_is_reasked_then_unparsed() -> None:
    recorder = Recorder(scripted('{"helpfulness":4}', "still no"))
    grade = (await grader("aspects-5").grade(recorder, prompt(), ANSWER))[0]
    assert not grade.parsed and grade.aspects is None and grade.score is None
    assert (
        "helpfulness, clarity, factuality, depth, engagement, safety"
        in recorder.requests[1].messages[-1].content
    )


async def test_structured_aspects_schema() -> None:
    recorder = Recorder(
        scripted('{"helpfulness":1,"clarity":1,"factuality":1,"depth":1,"engagement":1,"safety":1}')
    )
    grade = (await grader("aspects-5", supports_structured=True).grade(recorder, prompt(), ANSWER))[0]
    schema = recorder.requests[0].response_format["json_schema"]["schema"]  # type: ignore[index]
    assert schema["properties"]["safety"] == {"type": "integer", "minimum": 1, "maximum": 5}
    assert grade.score == 1.0


async def test_per_turn_grading_gives_one_grade_per_turn_with_history() -> None:
    recorder = Recorder(scripted("pass", "excellent", "fail"))
    dialogue = prompt("d1", "Plan a trip.", "Make it cheaper.", "Now in French.")
    answer = response("alpha", "Rome.", "Hostels.", "Auberges.", prompt_id="d1")
    grades = await grader("multi-turn-grade").grade(recorder, dialogue, answer)
    assert [g.turn for g in grades] == [0, 1, 2]
    assert sorted(g.label or "" for g in grades) == ["excellent", "fail", "pass"]
    by_turn = {
        r.messages[-1].content.split("turn ")[1][:1]: r.messages[-1].content for r in recorder.requests
    }
    assert "Hostels." in by_turn["3"] and "Auberges." in by_turn["3"]
    assert "Hostels." not in by_turn["1"] and "Rome." in by_turn["1"]


async def test_per_turn_grading_with_a_short_response_records_errors() -> None:
    dialogue = prompt("d1", "One.", "Two.")
    grades = await grader("multi-turn-grade").grade(
        scripted("pass").complete, dialogue, response("alpha", "Only one.", prompt_id="d1")
    )
    assert [g.label for g in grades] == ["pass", None]
    assert grades[1].error is not None and "no answer for turn 2" in grades[1].error


async def test_final_turn_grader_sees_earlier_exchanges() -> None:
    recorder = Recorder(scripted("pass"))
    dialogue = prompt("d1", "First question.", "Follow-up question.")
    grades = await grader("lima-grade").grade(
        recorder, dialogue, response("a", "First answer.", "Second.", prompt_id="d1")
    )
    assert len(grades) == 1 and grades[0].turn is None
    user = recorder.requests[0].messages[-1].content
    assert "First answer." in user and user.rstrip().endswith("### Grade")


async def test_reference_grade() -> None:
    recorder = Recorder(scripted("Matches.\nGrade: pass"))
    grade = (await grader("reference-grade").grade(recorder, prompt("m", "2+2?", reference=["4"]), ANSWER))[0]
    assert grade.reference_guided and grade.label == "pass"
    assert grade.rationale == "Matches."
    missing = (await grader("reference-grade").grade(recorder, prompt(), ANSWER))[0]
    assert missing.error is not None and "no reference answer" in missing.error


async def test_generation_failure_and_failed_response_are_records() -> None:
    failing = create("fail", {"message": "quota exhausted"})
    grade = (await grader("lima-grade").grade(failing.complete, prompt(), ANSWER))[0]
    assert grade.error == "quota exhausted" and grade.label is None
    broken = (await grader("lima-grade").grade(failing.complete, prompt(), response("x", error="boom")))[0]
    assert broken.error is not None and "has an error" in broken.error


async def test_grade_samples_and_response_samples_are_kept_apart() -> None:
    recorder = Recorder(scripted("pass"))
    answer = ANSWER.model_copy(update={"sample": 3})
    grade = (await grader("lima-grade").grade(recorder, prompt(), answer, sample=1))[0]
    assert (grade.sample, grade.response_sample) == (1, 3)
    assert recorder.requests[0].params.seed == 1 and recorder.requests[0].params.temperature == 0.7


def test_scale_label_orders_for_reports() -> None:
    from evalkit.judging import list_judges

    orders = scale_label_orders(list_judges(search_dirs=[JUDGES_DIR]))
    assert orders["fail-pass-excellent"] == ("fail", "pass", "excellent")
    assert orders["helpfulness-1-6"] == ("1", "2", "3", "4", "5", "6")
    assert "aspects-1-5" not in orders


def test_request_targets_a_turn() -> None:
    dialogue = prompt("d1", "One.", "Two.")
    answer = response("alpha", "Uno.", "Dos.", prompt_id="d1")
    request = grader("multi-turn-grade").request(dialogue, answer, turn=0)
    assert "turn 1 of 2" in request.messages[-1].content
