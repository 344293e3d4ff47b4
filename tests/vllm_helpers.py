"""Shared pieces of the vLLM tests and benchmark: prompts, a greedy-agreement measure, scoring checks."""

from __future__ import annotations

from collections.abc import Sequence

from evalkit.generators.base import ScoredContinuation
from evalkit.stats.shift import classify

AGREEMENT_PROMPTS: tuple[str, ...] = (
    "The capital of France is",
    "Here is a recipe for pancakes:",
    "The three primary colors are",
    "Water boils at a temperature of",
    "In 1969, the first humans to walk on the Moon were",
    "A good way to learn a new language is to",
    "The largest planet in our solar system is",
    "def fibonacci(n):\n",
    "Photosynthesis is the process by which plants",
    "The main difference between a virus and a bacterium is",
    "Once upon a time, in a small village by the sea,",
    "To change a flat tire, first you need to",
    "The French Revolution began in the year",
    "Dear hiring manager, I am writing to apply for",
    "The human heart has four chambers:",
    "A haiku about autumn:\n",
    "The speed of light in a vacuum is approximately",
    "Three tips for staying healthy are",
    "Shakespeare wrote many plays, including",
    "The stock market is",
)


def leading_agreement(first: Sequence[int], second: Sequence[int], length: int) -> float:
    """Fraction of the first ``length`` tokens that two sequences share before they first differ.

    Sequences that end early and identically (both stopped) count as full agreement.
    """
    a, b = list(first[:length]), list(second[:length])
    shared = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            return shared / length
        shared += 1
    if len(a) == len(b):
        return 1.0
    return shared / length


SCORED_PROMPT = "Question: What is the capital of France?\nAnswer:"
SCORED_ANSWER = " The capital of France is Paris, a city known for the Eiffel Tower and its museums."


def assert_scores_agree(ours: ScoredContinuation, theirs: ScoredContinuation) -> None:
    """vLLM's scores of SCORED_ANSWER against llama.cpp's on the same model.

    llama.cpp multiplies by 8-bit-quantized activations, vLLM by float32 ones: near ties may
    swap, so shift classes must agree on almost every token and log-probabilities stay close.
    """
    assert ours.tokens == theirs.tokens and "".join(ours.tokens) == SCORED_ANSWER
    assert ours.prompt_tokens == theirs.prompt_tokens
    assert all(rank >= 1 for rank in ours.ranks) and all(lp <= 0 for lp in ours.logprobs)
    # Where vLLM ranks the token first, it is its own top choice.
    pairs = zip(ours.tokens, ours.ranks, ours.top_tokens, strict=True)
    assert all(top == token for token, rank, top in pairs if rank == 1)
    same_class = [classify(a) == classify(b) for a, b in zip(ours.ranks, theirs.ranks, strict=True)]
    print(
        f"\nshift classes agree on {sum(same_class)} of {len(same_class)} tokens; "
        f"ranks {ours.ranks} vs {theirs.ranks}"
    )
    assert sum(same_class) >= len(same_class) - 1
    assert sum(a == b for a, b in zip(ours.ranks, theirs.ranks, strict=True)) >= len(ours.ranks) * 3 // 4
    assert max(abs(a - b) for a, b in zip(ours.logprobs, theirs.logprobs, strict=True)) < 0.5


async def llamacpp_scores(request: object) -> tuple[ScoredContinuation, str]:
    """The llama.cpp backend's scores of SCORED_ANSWER after ``request``, and its vocabulary digest."""
    from evalkit.generators.base import CompletionRequest
    from evalkit.generators.registry import create_generator

    assert isinstance(request, CompletionRequest)
    local = create_generator("local/gemma-3-270m", {})
    try:
        return await local.score_continuation(request, SCORED_ANSWER), str(
            await local.tokenizer_fingerprint()
        )
    finally:
        await local.aclose()
