"""Building OpenAI and OpenAI-compatible generators: presets, keys, base URLs, identity."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from api_helpers import (
    LoopbackServer,
    Reply,
    ScriptedHandler,
    SeenRequest,
    openai_chat_body,
    openai_error_body,
)

from evalkit.errors import ConfigError, GenerationError, MissingKeyError
from evalkit.generators.api.openai_api import PRESETS, OpenAIGenerator, create_compatible, create_openai
from evalkit.generators.base import CompletionRequest, SamplingParams
from evalkit.generators.registry import create_generator
from evalkit.records import Message

pytest.importorskip("openai", reason="needs the openai SDK: pip install 'evalkit[api]'")

ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "EVALKIT_VLLM_API_KEY", "EVALKIT_VLLM_BASE_URL",
       "EVALKIT_OLLAMA_BASE_URL", "EVALKIT_OLLAMA_API_KEY")  # fmt: skip


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def ask() -> CompletionRequest:
    return CompletionRequest(
        messages=(Message(role="user", content="Hi"),), params=SamplingParams(max_tokens=4)
    )


def test_openai_needs_its_key_before_any_call():
    with pytest.raises(MissingKeyError, match="OPENAI_API_KEY"):
        create_openai("gpt-4o-mini", {})


def test_a_named_key_variable_must_be_set(monkeypatch):
    with pytest.raises(MissingKeyError, match="TEAM_KEY"):
        create_compatible("vllm", {"model": "m", "api_key_env": "TEAM_KEY"})
    monkeypatch.setenv("TEAM_KEY", "k")
    assert isinstance(create_compatible("vllm", {"model": "m", "api_key_env": "TEAM_KEY"}), OpenAIGenerator)


def test_keys_in_the_config_are_refused():
    with pytest.raises(ConfigError, match="api_key_env"):
        create_compatible("vllm/m", {"api_key": "sk-123"})


def test_unknown_options_are_named():
    with pytest.raises(ConfigError, match="max_concurency"):
        create_compatible("vllm/m", {"max_concurency": 4})


def test_an_unknown_transport_is_a_config_error():
    with pytest.raises(ConfigError, match="http_transport"):
        create_compatible("vllm/m", {"http_transport": "curl"})


@pytest.mark.parametrize("value", [0, -2, 1.5, "8", True])
def test_bad_concurrency_is_a_config_error(value):
    with pytest.raises(ConfigError, match="max_concurrency"):
        create_compatible("vllm/m", {"max_concurrency": value})


def test_the_registry_resolves_both_providers(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert isinstance(create_generator("openai/gpt-4o-mini"), OpenAIGenerator)
    generator = create_generator("openai-compatible/vllm/org/model-7b", {"max_concurrency": 5})
    assert isinstance(generator, OpenAIGenerator)
    assert (generator.model, generator.preset, generator.max_concurrency) == ("org/model-7b", "vllm", 5)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_have_loopback_defaults(preset):
    generator = create_compatible(f"{preset}/m", {})
    assert isinstance(generator, OpenAIGenerator)
    assert generator.base_url == PRESETS[preset]
    assert generator.base_url.startswith("http://127.0.0.1:")


def test_base_url_precedence_option_then_environment_then_preset(monkeypatch):
    monkeypatch.setenv("EVALKIT_OLLAMA_BASE_URL", "http://127.0.0.1:9999/v1")
    assert create_compatible("ollama/llama3", {}).base_url == "http://127.0.0.1:9999/v1"  # type: ignore[attr-defined]
    chosen = create_compatible("ollama/llama3", {"base_url": "http://127.0.0.1:7/v1"})
    assert chosen.base_url == "http://127.0.0.1:7/v1"  # type: ignore[attr-defined]


def test_the_generic_form_needs_a_base_url(monkeypatch):
    with pytest.raises(ConfigError, match="base URL"):
        create_compatible("my-model", {})
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:5000/v1")
    generator = create_compatible("my-model", {})
    assert isinstance(generator, OpenAIGenerator)
    assert (generator.model, generator.preset, generator.base_url) == (
        "my-model",
        "generic",
        "http://127.0.0.1:5000/v1",
    )


def test_identity_holds_the_endpoint_but_no_credential(monkeypatch):
    monkeypatch.setenv("EVALKIT_VLLM_API_KEY", "sk-secret-value-1")
    generator = create_compatible("vllm/m", {"base_url": "http://admin:hunter22@127.0.0.1:8000/v1"})
    identity = generator.identity()
    assert identity == {
        "spec": "openai-compatible/vllm/m",
        "model": "m",
        "preset": "vllm",
        "endpoint": "http://127.0.0.1:8000/v1",  # two servers behind one spec never share the cache
    }
    blob = json.dumps(identity)
    assert "hunter22" not in blob and "sk-secret" not in blob and "admin" not in blob
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value-2")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    assert create_openai("gpt-4o", {}).identity() == {
        "spec": "openai/gpt-4o",
        "model": "gpt-4o",
        "endpoint": "http://127.0.0.1:1/v1",
    }


async def test_messages_never_show_url_credentials():
    with LoopbackServer(ScriptedHandler([], Reply(status=500, body=openai_error_body("boom")))) as server:
        port = server.port
        url = server.url.replace("http://", "http://admin:hunter22@") + "/v1"
        generator = create_compatible("vllm/m", {"base_url": url, "max_attempts": 1})
        with pytest.raises(GenerationError) as caught:
            await generator.complete(ask())
        await generator.aclose()
    assert "hunter22" not in str(caught.value)
    assert f"http://127.0.0.1:{port}/v1 answered HTTP 500" in str(caught.value)


def test_a_preset_without_a_model_asks_the_server_once():
    def models(request: SeenRequest) -> Reply:
        return Reply(body={"object": "list", "data": [{"id": "served/llama-3-8b", "object": "model"}]})

    with LoopbackServer(models) as server:
        generator = create_compatible("vllm", {"base_url": server.url + "/v1"})
        assert generator.identity() == {"spec": "openai-compatible/vllm", "model": "served/llama-3-8b",
                                        "preset": "vllm", "endpoint": server.url + "/v1"}  # fmt: skip
        generator.identity()
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/v1/models")]


def test_a_server_with_several_models_needs_one_named():
    def models(request: SeenRequest) -> Reply:
        return Reply(body={"object": "list", "data": [{"id": "llama3.2"}, {"id": "qwen2.5"}]})

    with LoopbackServer(models) as server:
        generator = create_compatible("ollama", {"base_url": server.url + "/v1"})
        with pytest.raises(ConfigError, match=r"serves 2 models \(llama3.2, qwen2.5\); name one"):
            generator.identity()


def test_an_unreachable_server_is_a_clear_config_error():
    generator = create_compatible("vllm", {"base_url": "http://127.0.0.1:9/v1"})
    with pytest.raises(ConfigError, match="start the server, or name the model"):
        generator.identity()


async def test_openai_sends_max_completion_tokens_and_the_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123")
    with LoopbackServer(
        ScriptedHandler([], Reply(body=openai_chat_body(model="gpt-4o-mini-2024-07-18")))
    ) as server:
        generator = create_openai("gpt-4o-mini", {"base_url": server.url + "/v1"})
        completion = await generator.complete(ask())
        await generator.aclose()
    body = server.requests[0].json()
    assert body["model"] == "gpt-4o-mini" and body["max_completion_tokens"] == 4 and "max_tokens" not in body
    assert server.requests[0].headers["authorization"] == "Bearer sk-test-123"
    assert completion.model_id == "gpt-4o-mini-2024-07-18"


async def test_repetition_penalty_goes_to_local_servers_but_not_to_openai(monkeypatch):
    request = CompletionRequest(
        messages=(Message(role="user", content="Hi"),), params=SamplingParams(repetition_penalty=1.1)
    )
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123")
    with LoopbackServer(ScriptedHandler([], Reply(body=openai_chat_body()))) as server:
        local = create_compatible("vllm/m", {"base_url": server.url + "/v1"})
        await local.complete(request)
        remote = create_openai("gpt-4o", {"base_url": server.url + "/v1"})
        with pytest.raises(GenerationError, match="repetition_penalty") as caught:
            await remote.complete(request)
        await local.aclose()
        await remote.aclose()
    assert server.requests[0].json()["repetition_penalty"] == 1.1
    assert len(server.requests) == 1
    assert caught.value.retryable is False


async def test_a_generator_works_across_event_loops():
    with LoopbackServer(ScriptedHandler([], Reply(body=openai_chat_body()))) as server:
        generator = create_compatible("vllm/m", {"base_url": server.url + "/v1"})

        async def once() -> str:
            return (await generator.complete(ask())).text

        texts: list[str] = []
        thread = threading.Thread(target=lambda: texts.extend([asyncio.run(once()), asyncio.run(once())]))
        thread.start()
        thread.join(30)
    assert texts == ["Hello there.", "Hello there."]
