"""The Anthropic generator on the messages API wire format, served by a scripted loopback server."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest
from api_helpers import LoopbackServer, Reply, ScriptedHandler, anthropic_message_body

from evalkit.errors import ConfigError, GenerationError, MissingKeyError
from evalkit.generators.api.anthropic_api import AnthropicGenerator, create
from evalkit.generators.base import Completion, CompletionRequest, SamplingParams
from evalkit.generators.registry import create_generator
from evalkit.records import Message

pytest.importorskip("anthropic", reason="needs the anthropic SDK: pip install 'evalkit[api]'")

KEY = "sk-ant-test-0123456789"


@pytest.fixture(autouse=True)
def anthropic_key(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)


class Recorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def anthropic_error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


async def run(
    script: list[Reply], request: CompletionRequest, **options: Any
) -> tuple[Any, Recorder, LoopbackServer]:
    sleep = Recorder()
    default = Reply(body=anthropic_message_body(["fine"]))
    with LoopbackServer(ScriptedHandler(script, default)) as server:
        generator = create("claude-test", {"base_url": server.url, **options})
        assert isinstance(generator, AnthropicGenerator)
        generator.policy = replace(generator.policy, sleep=sleep, rng=random.Random(0))
        try:
            outcome: Any = await generator.complete(request)
        except GenerationError as exc:
            outcome = exc
        await generator.aclose()
    return outcome, sleep, server


CHAT = CompletionRequest(
    messages=(
        Message(role="system", content="You are terse."),
        Message(role="user", content="Name a colour."),
        Message(role="assistant", content="Blue."),
        Message(role="user", content="Another."),
    ),
    params=SamplingParams(temperature=0.3, max_tokens=64, stop=("END",)),
)


async def test_request_follows_the_messages_api_and_the_reply_is_parsed():
    body = anthropic_message_body(["Green", " and red."], model="claude-test-20250101", input_tokens=31,
                                  output_tokens=5)  # fmt: skip
    completion, sleep, server = await run([Reply(body=body)], CHAT)
    sent = server.requests[0]
    assert (sent.method, sent.path) == ("POST", "/v1/messages")
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["anthropic-version"] > "2023-06-01"
    assert sent.json() == {
        "model": "claude-test",
        "max_tokens": 64,
        "system": "You are terse.",
        "messages": [
            {"role": "user", "content": "Name a colour."},
            {"role": "assistant", "content": "Blue."},
            {"role": "user", "content": "Another."},
        ],
        "stop_sequences": ["END"],
    }
    assert isinstance(completion, Completion)
    assert completion.text == "Green and red."
    assert (completion.model_id, completion.finish_reason) == ("claude-test-20250101", "stop")
    assert (completion.prompt_tokens, completion.completion_tokens) == (31, 5)
    assert completion.logprobs is None
    assert sleep.waits == []


async def test_sampling_is_sent_only_to_the_legacy_api_version_and_system_messages_are_joined(caplog):
    request = CompletionRequest(
        messages=(Message(role="system", content="A."), Message(role="system", content="B."),
                  Message(role="user", content="Hi")),
        params=SamplingParams(top_p=0.8, temperature=0.5),
    )  # fmt: skip
    _, _, server = await run([], request, api_version="2023-06-01")
    sent = server.requests[0]
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert (sent.json()["system"], sent.json()["top_p"], sent.json()["temperature"]) == ("A.\n\nB.", 0.8, 0.5)
    _, _, server = await run([], CompletionRequest(messages=(Message(role="user", content="Hi"),)),
                             api_version="2023-06-01")  # fmt: skip
    assert server.requests[0].json()["temperature"] == 0.0
    assert "top_p" not in server.requests[0].json() and "system" not in server.requests[0].json()
    _, _, server = await run([], request)
    assert not {"temperature", "top_p"} & set(server.requests[0].json())
    assert "api_version: '2023-06-01'" in caplog.text


STOPS = [
    ("max_tokens", "length"),
    ("end_turn", "stop"),
    ("stop_sequence", "stop"),
    ("refusal", "content_filter"),
]


@pytest.mark.parametrize(("stop_reason", "expected"), STOPS)
async def test_stop_reasons_are_normalised(stop_reason, expected):
    body = anthropic_message_body(["x"], stop_reason=stop_reason)
    completion, _, _ = await run([Reply(body=body)], CHAT)
    assert completion.finish_reason == expected


async def test_overloaded_529_and_rate_limits_are_retried():
    script = [
        Reply(status=529, body=anthropic_error("overloaded_error", "Overloaded")),
        Reply(
            status=429, body=anthropic_error("rate_limit_error", "slow down"), headers={"retry-after": "12"}
        ),
    ]
    completion, sleep, server = await run(script, CHAT)
    assert isinstance(completion, Completion) and completion.text == "fine"
    first_wait = 1.0 * (1 - 0.25 * random.Random(0).random())
    assert sleep.waits == [first_wait, 12.0]
    assert len(server.requests) == 3


async def test_a_rejected_key_fails_fast_and_names_the_variable():
    rejected = Reply(status=401, body=anthropic_error("authentication_error", "invalid x-api-key"))
    outcome, sleep, server = await run([rejected], CHAT)
    assert isinstance(outcome, GenerationError)
    assert (outcome.status, outcome.retryable) == (401, False)
    assert "ANTHROPIC_API_KEY" in str(outcome) and "invalid x-api-key" in str(outcome)
    assert (sleep.waits, len(server.requests)) == ([], 1)


async def test_raw_prompts_are_refused_without_a_call():
    outcome, _, server = await run([], CompletionRequest(prompt="Once upon a time"))
    assert isinstance(outcome, GenerationError) and "chat template" in str(outcome)
    assert server.requests == []


async def test_logprob_requests_get_none_rather_than_an_error():
    request = CompletionRequest(messages=(Message(role="user", content="Hi"),), top_logprobs=5)
    completion, _, server = await run([], request)
    assert isinstance(completion, Completion) and completion.logprobs is None
    assert "logprobs" not in server.requests[0].json()


def test_missing_key_is_reported_before_any_call(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(MissingKeyError, match="ANTHROPIC_API_KEY"):
        create_generator("anthropic/claude-test")


def test_identity_and_capabilities():
    generator = create_generator("anthropic/claude-test", {"base_url": "http://user:pw@127.0.0.1:1"})
    assert generator.identity() == {
        "spec": "anthropic/claude-test",
        "model": "claude-test",
        "endpoint": "http://127.0.0.1:1",  # the endpoint, never its credentials
    }
    pinned = create_generator("anthropic/claude-test", {"api_version": "2023-06-01"})
    assert pinned.identity()["api_version"] == "2023-06-01"
    assert (generator.supports_logprobs, generator.supports_raw_prompt) == (False, False)
    with pytest.raises(ConfigError, match="api_key_env"):
        create("claude-test", {"api_key": KEY})
