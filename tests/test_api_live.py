"""Live calls to the paid APIs: opt in with --run-api and the providers' keys.

Models default to small, cheap ones; EVALKIT_LIVE_OPENAI_MODEL and
EVALKIT_LIVE_ANTHROPIC_MODEL choose others. Each test makes one or two calls of a few tokens.
"""

from __future__ import annotations

import os

import pytest

from evalkit.costs import CostMeter
from evalkit.generators.base import CompletionRequest, SamplingParams
from evalkit.generators.registry import create_generator
from evalkit.records import Message

pytestmark = pytest.mark.api

REQUEST = CompletionRequest(
    messages=(
        Message(role="system", content="You answer with one word."),
        Message(role="user", content="What colour is a clear daytime sky?"),
    ),
    params=SamplingParams(temperature=0.0, max_tokens=5),
)


def need_key(variable: str) -> None:
    if not os.environ.get(variable):
        pytest.skip(f"set {variable} to run this live test")


async def test_openai_live_chat_with_logprobs():
    need_key("OPENAI_API_KEY")
    model = os.environ.get("EVALKIT_LIVE_OPENAI_MODEL", "gpt-4o-mini")
    generator = create_generator(f"openai/{model}")
    completion = await generator.complete(REQUEST.model_copy(update={"top_logprobs": 2}))
    await generator.aclose()
    assert completion.text.strip()
    assert completion.model_id.startswith(model)
    assert completion.prompt_tokens > 10 and 1 <= completion.completion_tokens <= 5
    assert completion.logprobs is not None and len(completion.logprobs) == completion.completion_tokens
    meter = CostMeter()
    assert (meter.add_completion(generator.spec, completion) or 0.0) > 0.0


async def test_anthropic_live_chat():
    need_key("ANTHROPIC_API_KEY")
    model = os.environ.get("EVALKIT_LIVE_ANTHROPIC_MODEL", "claude-haiku-4-5")
    generator = create_generator(f"anthropic/{model}")
    completion = await generator.complete(REQUEST)
    await generator.aclose()
    assert completion.text.strip()
    assert completion.model_id.startswith(model)
    assert completion.prompt_tokens > 10 and 1 <= completion.completion_tokens <= 5
    assert completion.finish_reason in {"stop", "length"}
