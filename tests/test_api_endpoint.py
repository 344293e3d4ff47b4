"""A failing endpoint against real loopback sockets: real causes, no slot held while waiting,
a circuit breaker for an endpoint that is gone, and a fallback for servers without logprobs."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from api_helpers import LoopbackServer, Reply, ScriptedHandler, SeenRequest, free_port, openai_chat_body
from test_cli import evalkit

from evalkit import cli
from evalkit.errors import EndpointUnavailableError, GenerationError
from evalkit.generators.api.logprob_support import NO_LOGPROBS
from evalkit.generators.api.openai_api import OpenAIGenerator, create_compatible
from evalkit.generators.base import CompletionRequest
from evalkit.records import Message

pytest.importorskip("openai", reason="needs the openai SDK: pip install 'evalkit[api]'")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def make(base_url: str, **options: Any) -> OpenAIGenerator:
    generator = create_compatible("generic-model", {"base_url": base_url, **options})
    assert isinstance(generator, OpenAIGenerator)
    return generator


def ask(text: str = "Hi", **fields: Any) -> CompletionRequest:
    return CompletionRequest(messages=(Message(role="user", content=text),), **fields)


async def failure_of(generator: OpenAIGenerator, request: CompletionRequest | None = None) -> str:
    with pytest.raises(GenerationError) as caught:
        await generator.complete(request or ask())
    await generator.aclose()
    return str(caught.value)


async def test_a_refused_connection_says_refused() -> None:
    generator = make(f"http://127.0.0.1:{free_port()}/v1", max_attempts=1)
    message = await failure_of(generator)
    assert "refused the connection" in message
    assert "did not answer" not in message


async def test_an_unknown_host_says_the_name_could_not_be_resolved() -> None:
    generator = make("http://no-such-host.invalid/v1", max_attempts=1)
    assert "could not be resolved" in await failure_of(generator)


async def test_a_hanging_server_costs_two_timeouts_not_every_retry() -> None:
    with LoopbackServer(ScriptedHandler([], Reply(body=openai_chat_body(), delay_s=5))) as server:
        generator = make(server.url + "/v1", timeout=0.3, retry_initial_wait=0, circuit_breaker=0)
        started = time.monotonic()
        message = await failure_of(generator)
        elapsed = time.monotonic() - started
        attempts = len([r for r in server.requests if r.method == "POST"])
    assert "did not answer within 0.3s" in message
    assert message.endswith(", 2 times")
    assert attempts == 2
    assert elapsed < 3


async def test_waiting_to_retry_does_not_hold_the_only_slot() -> None:
    def handler(request: SeenRequest) -> Reply:
        first = request.json()["messages"][0]["content"] == "A"
        tried = sum(r.method == "POST" and b'"A"' in r.body for r in server.requests)
        if first and tried == 1:
            return Reply(status=503, body={"error": {"message": "busy"}}, headers={"Retry-After": "0.5"})
        return Reply(body=openai_chat_body())

    with LoopbackServer(handler) as server:
        generator = make(server.url + "/v1", max_concurrency=1)
        first = asyncio.create_task(generator.complete(ask("A")))
        await asyncio.sleep(0.2)
        second = asyncio.create_task(generator.complete(ask("B")))
        await asyncio.gather(first, second)
        await generator.aclose()
        order = [json.loads(r.body)["messages"][0]["content"] for r in server.requests if r.method == "POST"]
    assert order == ["A", "B", "A"]


async def test_an_endpoint_that_died_mid_run_trips_the_breaker_fast() -> None:
    server = LoopbackServer(ScriptedHandler([], Reply(body=openai_chat_body()))).start()
    generator = make(server.url + "/v1", max_concurrency=4)
    assert (await generator.complete(ask("before"))).text
    server.stop()
    started = time.monotonic()
    outcomes = await generator.complete_many([ask(f"q{i}") for i in range(40)])
    elapsed = time.monotonic() - started
    await generator.aclose()
    assert all(isinstance(o, EndpointUnavailableError) for o in outcomes)
    assert re.search(r"after \d+ failures in a row", str(outcomes[0]))
    assert "refused the connection" in str(outcomes[0])
    assert "run the same command again to resume" in str(outcomes[0])
    assert elapsed < 10  # default backoff would wait minutes per item


async def test_a_server_without_logprobs_falls_back_once_and_says_so() -> None:
    def handler(request: SeenRequest) -> Reply:
        if "logprobs" in request.json():
            return Reply(status=500, body={"error": {"message": "logprobs are not supported"}})
        return Reply(body=openai_chat_body("A"))

    with LoopbackServer(handler) as server:
        generator = make(server.url + "/v1")
        first = await generator.complete(ask(top_logprobs=5))
        second = await generator.complete(ask("again", top_logprobs=5))
        plain = await generator.complete(ask("plain"))
        await generator.aclose()
        asked = ["logprobs" in r.json() for r in server.requests if r.method == "POST"]
    assert asked == [True, False, False, False]
    assert first.warnings == second.warnings == (NO_LOGPROBS,)
    assert first.logprobs is None and first.text == "A"
    assert plain.warnings == ()


def _judge_handler(request: SeenRequest) -> Reply:
    if request.method == "GET":
        return Reply(body={"object": "list", "data": [{"id": "judge"}]})
    if "logprobs" in request.json():
        return Reply(status=500, body={"error": {"message": "logprobs are not supported"}})
    return Reply(body=openai_chat_body("A"))


def test_the_logprob_fallback_is_counted_in_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "set.jsonl").write_text('{"id": "p1", "prompt": "Hi"}\n{"id": "p2", "prompt": "Yo"}\n')
    with LoopbackServer(_judge_handler) as server:
        (tmp_path / "exp.yaml").write_text(
            "name: x\nprompts: set.jsonl\nsystems:\n  - {name: a, model: fake/echo}\n"
            "  - {name: b, model: fake/constant, options: {text: hello}}\n"
            f"judges:\n  - {{judge: lima-pairwise, model: openai-compatible/judge, text_prompt: false, "
            f"options: {{base_url: '{server.url}/v1'}}}}\n"
        )
        assert cli.main(["run", "exp.yaml", "--quiet", "--no-report"]) == 0
    out = capsys.readouterr().out
    assert f"warnings from openai-compatible/judge: 4 {NO_LOGPROBS}" in out
    meta = json.loads((tmp_path / "reports" / "x" / "run.json").read_text())
    assert meta["executions"][-1]["calls"]["openai-compatible/judge"]["warnings"][NO_LOGPROBS] == 4
    judgments = [json.loads(line) for line in (tmp_path / "reports" / "x" / "judgments.jsonl").open()]
    assert len(judgments) == 4
    assert all(j["error"] is None and j["outcome"] is not None for j in judgments)


def test_a_run_against_a_gone_endpoint_stops_with_one_message(tmp_path: Path) -> None:
    (tmp_path / "set.jsonl").write_text("".join(f'{{"id": "p{i}", "prompt": "q{i}"}}\n' for i in range(30)))
    # 127.0.0.2 is loopback but not probed before the run, so the items meet the refusals.
    (tmp_path / "exp.yaml").write_text(
        "name: x\nprompts: set.jsonl\nsystems:\n"
        f"  - {{name: a, model: openai-compatible/m, options: {{base_url: 'http://127.0.0.2:{free_port()}/v1'}}}}\n"
    )
    started = time.monotonic()
    result = evalkit("run", "exp.yaml", "--quiet", cwd=tmp_path)
    assert time.monotonic() - started < 60
    assert result.returncode == 2, result.stderr
    assert re.search(r"stopped calling it after \d+ failures in a row", result.stderr)
    assert "refused the connection" in result.stderr
    assert "Traceback" not in result.stderr
    meta = json.loads((tmp_path / "reports" / "x" / "run.json").read_text())
    assert meta["status"] == "interrupted"
