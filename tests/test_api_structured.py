"""API judges with structured verdicts: the JSON schema goes on the wire, the JSON answer is read.

Served by a scripted loopback server: OpenAI's ``response_format`` and Anthropic's
``output_config.format``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from api_helpers import LoopbackServer, Reply, ScriptedHandler, anthropic_message_body, openai_chat_body

from evalkit.generators.base import CompletionRequest
from evalkit.generators.registry import create_generator
from evalkit.judging import LLMGrader, load_judge
from evalkit.judging.structured import response_format, verdict_schema
from evalkit.records import Grade, Message
from tests.judging_helpers import prompt, response

ASPECTS = {"helpfulness": 4, "clarity": 5, "factuality": 3, "depth": 2, "engagement": 4, "safety": 5}


@pytest.fixture(autouse=True)
def keys(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789")
    for name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


async def grade_through(spec_name: str, model: str, body: dict[str, Any]) -> tuple[Grade, dict[str, Any]]:
    spec = load_judge(spec_name)
    with LoopbackServer(ScriptedHandler([], Reply(body=body))) as server:
        generator = create_generator(model, {"base_url": server.url})
        assert generator.supports_structured
        grader = LLMGrader(spec, model, supports_structured=generator.supports_structured)
        (grade,) = await grader.grade(generator.complete, prompt(), response("x", "Paris."))
        await generator.aclose()
    return grade, server.requests[0].json()


async def test_openai_judges_send_the_verdict_schema_and_read_the_json_answer() -> None:
    pytest.importorskip("openai", reason="needs the openai SDK: pip install 'evalkit[api]'")
    grade, sent = await grade_through("aspects-5", "openai/gpt-test", openai_chat_body(json.dumps(ASPECTS)))
    assert sent["response_format"] == response_format(load_judge("aspects-5"))
    assert grade.aspects == {k: float(v) for k, v in ASPECTS.items()}
    assert grade.provenance is not None and grade.provenance.params["constrained"] == "json"


async def test_anthropic_judges_send_the_schema_as_json_output_with_ranges_as_enums() -> None:
    pytest.importorskip("anthropic", reason="needs the anthropic SDK: pip install 'evalkit[api]'")
    body = anthropic_message_body([json.dumps(ASPECTS)])
    grade, sent = await grade_through("aspects-5", "anthropic/claude-test", body)
    schema = sent["output_config"]["format"]["schema"]
    assert sent["output_config"]["format"]["type"] == "json_schema"
    expected = verdict_schema(load_judge("aspects-5"))
    assert schema["required"] == expected["required"] and schema["additionalProperties"] is False
    assert schema["properties"]["depth"] == {"type": "integer", "enum": [1, 2, 3, 4, 5]}
    assert "Answer with a JSON object" in sent["messages"][-1]["content"]
    assert grade.aspects is not None and grade.score == 3.6


async def test_anthropic_refuses_other_response_formats_without_a_call() -> None:
    pytest.importorskip("anthropic", reason="needs the anthropic SDK: pip install 'evalkit[api]'")
    from evalkit.errors import GenerationError

    request = CompletionRequest(
        messages=(Message(role="user", content="Hi"),), response_format={"type": "json_object"}
    )
    with LoopbackServer(ScriptedHandler([], Reply(body=anthropic_message_body(["{}"])))) as server:
        generator = create_generator("anthropic/claude-test", {"base_url": server.url})
        with pytest.raises(GenerationError, match="JSON schemas only"):
            await generator.complete(request)
        await generator.aclose()
    assert server.requests == []
