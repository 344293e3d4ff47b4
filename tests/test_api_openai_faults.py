"""The OpenAI-compatible generator against a loopback server that misbehaves on purpose.

Every test runs with both HTTP transports the generator can use (the SDK's default
client and its aiohttp-backed one), since each meets broken connections its own way.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from typing import Any

import pytest
from api_helpers import (
    LoopbackServer,
    Reply,
    ScriptedHandler,
    SeenRequest,
    openai_chat_body,
    openai_error_body,
)

from evalkit.cache import CachedCaller, ResponseCache
from evalkit.errors import GenerationError
from evalkit.generators.api.openai_api import OpenAIGenerator, create_compatible
from evalkit.generators.base import Completion, CompletionRequest, SamplingParams
from evalkit.records import Message

pytest.importorskip("openai", reason="needs the openai SDK: pip install 'evalkit[api]'")

OK = Reply(body=openai_chat_body())
TRANSPORT = {"name": "httpx"}


@pytest.fixture(autouse=True, params=["httpx", "aiohttp"])
def transport(request):
    if request.param == "aiohttp":
        pytest.importorskip(
            "aiohttp", reason="the aiohttp transport needs aiohttp: pip install 'evalkit[api]'"
        )
    TRANSPORT["name"] = request.param
    return request.param


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "EVALKIT_VLLM_API_KEY", "EVALKIT_VLLM_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


class Recorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def make(server: LoopbackServer, sleep: Recorder, **options: Any) -> OpenAIGenerator:
    options = {"base_url": server.url + "/v1", "http_transport": TRANSPORT["name"], **options}
    generator = create_compatible("vllm/test-model", options)
    assert isinstance(generator, OpenAIGenerator)
    generator.policy = replace(generator.policy, sleep=sleep, rng=random.Random(0))
    return generator


def ask(text: str = "Hi", **fields: Any) -> CompletionRequest:
    return CompletionRequest(messages=(Message(role="user", content=text),), **fields)


async def complete_once(reply_script: list[Reply], **options: Any) -> tuple[Any, Recorder, LoopbackServer]:
    sleep = Recorder()
    with LoopbackServer(ScriptedHandler(reply_script, OK)) as server:
        generator = make(server, sleep, **options)
        try:
            outcome: Any = await generator.complete(ask())
        except GenerationError as exc:
            outcome = exc
        await generator.aclose()
    return outcome, sleep, server


async def test_chat_request_carries_every_parameter_and_the_reply_is_parsed():
    logprobs = [
        {"token": "Hello", "logprob": -0.25, "top_logprobs": [{"token": "Hello", "logprob": -0.25},
                                                           {"token": "Hi", "logprob": -1.5}]},
    ]  # fmt: skip
    body = openai_chat_body(
        "Hello", finish_reason="length", prompt_tokens=9, completion_tokens=1, logprobs=logprobs
    )
    params = SamplingParams(temperature=0.7, top_p=0.9, max_tokens=5, seed=11, stop=("\n\n",))
    request = CompletionRequest(
        messages=(Message(role="system", content="Be brief."), Message(role="user", content="Hi")),
        params=params,
        top_logprobs=2,
        response_format={"type": "json_object"},
    )
    with LoopbackServer(ScriptedHandler([], Reply(body=body))) as server:
        generator = make(server, Recorder())
        completion = await generator.complete(request)
        await generator.aclose()
    sent = server.requests[0]
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.json() == {
        "model": "test-model",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "temperature": 0.7,
        "top_p": 0.9,
        "max_tokens": 5,
        "seed": 11,
        "stop": ["\n\n"],
        "logprobs": True,
        "top_logprobs": 2,
        "response_format": {"type": "json_object"},
    }
    assert completion.text == "Hello"
    assert completion.model_id == "served-model-2025-01-01"
    assert (completion.finish_reason, completion.prompt_tokens, completion.completion_tokens) == (
        "length",
        9,
        1,
    )
    assert completion.logprobs is not None
    assert [(s.token, s.logprob, s.top) for s in completion.logprobs] == [
        ("Hello", -0.25, (("Hello", -0.25), ("Hi", -1.5)))
    ]
    assert completion.latency_s > 0


async def test_raw_prompts_go_to_the_completions_endpoint():
    body = {
        "id": "cmpl-1", "object": "text_completion", "created": 1, "model": "served-base",
        "choices": [{"index": 0, "text": " Paris", "finish_reason": "stop",
                     "logprobs": {"tokens": [" Paris"], "token_logprobs": [-0.1],
                                  "top_logprobs": [{" Lyon": -3.0, " Paris": -0.1}], "text_offset": [0]}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
    }  # fmt: skip
    request = CompletionRequest(
        prompt="Capital of France:", params=SamplingParams(max_tokens=3), top_logprobs=2
    )
    with LoopbackServer(ScriptedHandler([], Reply(body=body))) as server:
        generator = make(server, Recorder())
        completion = await generator.complete(request)
        await generator.aclose()
    sent = server.requests[0]
    assert sent.path == "/v1/completions"
    assert sent.json() == {"model": "test-model", "prompt": "Capital of France:", "max_tokens": 3,
                           "temperature": 0.0, "top_p": 1.0, "logprobs": 2}  # fmt: skip
    assert (completion.text, completion.model_id, completion.rendered_prompt) == (
        " Paris", "served-base", "Capital of France:"
    )  # fmt: skip
    assert completion.logprobs is not None
    assert completion.logprobs[0].top == ((" Paris", -0.1), (" Lyon", -3.0))


@pytest.mark.parametrize(
    ("headers", "expected_wait"),
    [({"Retry-After": "7"}, 7.0), ({"retry-after-ms": "1500"}, 1.5), ({"Retry-After": "0"}, 0.0)],
)
async def test_429_waits_as_long_as_retry_after_says(headers, expected_wait):
    limited = Reply(status=429, body=openai_error_body("slow down", "rate_limit_error"), headers=headers)
    outcome, sleep, server = await complete_once([limited])
    assert isinstance(outcome, Completion)
    assert sleep.waits == [expected_wait]
    assert len(server.requests) == 2


async def test_server_errors_back_off_exponentially_in_order():
    failures = [Reply(status=500, body=openai_error_body("boom", "server_error")),
                Reply(status=529, body=openai_error_body("overloaded", "overloaded_error")),
                Reply(status=502, raw_body=b"bad gateway", headers={"Content-Type": "text/plain"}),
                Reply(status=503, body=openai_error_body("unavailable"))]  # fmt: skip
    outcome, sleep, server = await complete_once(failures)
    assert isinstance(outcome, Completion)
    replay = random.Random(0)
    assert sleep.waits == [base * (1 - 0.25 * replay.random()) for base in (1.0, 2.0, 4.0, 8.0)]
    assert sleep.waits == sorted(sleep.waits)
    assert len(server.requests) == 5


@pytest.mark.parametrize(
    "fault",
    [
        Reply(drop=True),
        Reply(raw_body=b'{"id": "chatcmpl-1", "choices": ['),
        Reply(body=openai_chat_body(), truncate_to=25),
        Reply(raw_body=b"<html>proxy error</html>", headers={"Content-Type": "text/html"}),
        Reply(body={"id": "chatcmpl-1", "object": "chat.completion", "choices": []}),
    ],
    ids=["dropped-connection", "malformed-json", "truncated-body", "not-json", "no-choices"],
)
async def test_broken_responses_are_retried(fault):
    outcome, sleep, server = await complete_once([fault])
    assert isinstance(outcome, Completion)
    assert outcome.text == "Hello there."
    assert len(sleep.waits) == 1
    assert len(server.requests) == 2


async def test_a_response_slower_than_the_timeout_is_retried():
    outcome, sleep, server = await complete_once([Reply(body=openai_chat_body(), delay_s=2.0)], timeout=0.2)
    assert isinstance(outcome, Completion)
    assert len(sleep.waits) == 1
    assert len(server.requests) == 2


async def test_retries_end_with_a_retryable_error_naming_the_status():
    down = Reply(status=503, body=openai_error_body("maintenance"))
    outcome, sleep, server = await complete_once([down] * 3, max_attempts=3)
    assert isinstance(outcome, GenerationError)
    assert (outcome.retryable, outcome.status) == (True, 503)
    assert "HTTP 503" in str(outcome) and "maintenance" in str(outcome) and "3 attempts" in str(outcome)
    assert (len(sleep.waits), len(server.requests)) == (2, 3)


async def test_401_fails_at_once_and_names_the_key_variable(monkeypatch):
    monkeypatch.setenv("MY_SERVER_KEY", "sk-live-abcdef123456")
    rejected = Reply(status=401, body=openai_error_body("Incorrect API key provided: sk-live-abcdef123456"))
    outcome, sleep, server = await complete_once([rejected], api_key_env="MY_SERVER_KEY")
    assert isinstance(outcome, GenerationError)
    assert (outcome.retryable, outcome.status) == (False, 401)
    assert "MY_SERVER_KEY" in str(outcome)
    assert "sk-live-abcdef123456" not in str(outcome)
    assert server.requests[0].headers["authorization"] == "Bearer sk-live-abcdef123456"
    assert (sleep.waits, len(server.requests)) == ([], 1)


@pytest.mark.parametrize("status", [400, 403, 404, 422])
async def test_requests_that_cannot_succeed_fail_fast(status):
    refused = Reply(status=status, body=openai_error_body("max_tokens is too large"))
    outcome, sleep, server = await complete_once([refused])
    assert isinstance(outcome, GenerationError)
    assert (outcome.retryable, outcome.status) == (False, status)
    assert f"HTTP {status}" in str(outcome) and "max_tokens is too large" in str(outcome)
    assert (sleep.waits, len(server.requests)) == ([], 1)


class Mixed:
    """Answers by prompt text: bad-* -> 400, flaky-* -> one 500 then OK, down-* -> 503, else OK."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def __call__(self, request: SeenRequest) -> Reply:
        text = request.json()["messages"][-1]["content"]
        self.seen[text] = self.seen.get(text, 0) + 1
        if text.startswith("bad"):
            return Reply(status=400, body=openai_error_body("unsupported parameter"))
        if text.startswith("down") or (text.startswith("flaky") and self.seen[text] == 1):
            return Reply(status=503, body=openai_error_body("unavailable"))
        return Reply(body=openai_chat_body(f"answer to {text}"))


async def test_every_item_ends_with_a_response_or_a_recorded_error(tmp_path):
    texts = [f"{kind}-{i}" for i in range(3) for kind in ("ok", "bad", "flaky", "down")]
    requests = [ask(t) for t in texts]
    sleep = Recorder()
    with LoopbackServer(Mixed()) as server:
        generator = make(server, sleep, max_attempts=3, max_concurrency=4)
        caller = CachedCaller(generator, ResponseCache(tmp_path / "cache.sqlite"))
        first = await caller.complete_many(requests)
        second = await caller.complete_many(requests)
        await generator.aclose()
    assert len(first) == len(texts)
    for text, outcome in zip(texts, first, strict=True):
        if text.startswith(("ok", "flaky")):
            assert isinstance(outcome, Completion) and outcome.text == f"answer to {text}"
        else:
            assert isinstance(outcome, GenerationError)
            assert outcome.status == (400 if text.startswith("bad") else 503)
            assert outcome.retryable is text.startswith("down")
    assert caller.calls == 12 + 6  # errors are never cached, so the second pass retries only them
    assert [type(o) for o in second] == [type(o) for o in first]
    assert generator.stats.gave_up == 12


class InFlight:
    def __init__(self) -> None:
        self.current = 0
        self.peak = 0

    async def __call__(self, request: SeenRequest) -> Reply:
        self.current += 1
        self.peak = max(self.peak, self.current)
        await asyncio.sleep(0.05)
        self.current -= 1
        return OK


async def test_requests_in_flight_never_exceed_max_concurrency():
    counter = InFlight()
    with LoopbackServer(counter) as server:
        generator = make(server, Recorder(), max_concurrency=3)
        results = await asyncio.gather(*(generator.complete(ask(str(i))) for i in range(10)))
        await generator.aclose()
    assert len(results) == 10
    assert counter.peak == 3


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_the_sdk_does_not_retry_on_its_own(status):
    failing = Reply(status=status, body=openai_error_body("no"), headers={"Retry-After": "0"})
    outcome, sleep, server = await complete_once([failing], max_attempts=1)
    assert isinstance(outcome, GenerationError) and outcome.status == status
    assert (len(server.requests), sleep.waits) == (1, [])
