"""Scoring a given continuation with vLLM: its prompt log-probabilities, read token by token.

vLLM scores the tokens it is handed when a request asks for ``prompt_logprobs``: for every
prompt position after the first, a mapping from token id to its log-probability and rank,
holding the ``k`` best tokens plus the token actually there. With ``k = 1`` that is exactly
what token shift needs (the actual token's rank and log-probability, and the model's top
choice), and the request generates a single token that is thrown away.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from evalkit.errors import GenerationError
from evalkit.generators.base import ScoredContinuation
from evalkit.generators.vllm.runtime import import_vllm

PROMPT_LOGPROBS = 1
"""Alternatives vLLM lists per position besides the actual token: the top choice suffices."""


def scoring_params() -> Any:
    """Sampling parameters that make vLLM score the prompt and generate one (discarded) token."""
    return import_vllm().SamplingParams(
        max_tokens=1, temperature=0.0, prompt_logprobs=PROMPT_LOGPROBS, detokenize=False
    )


def scored_continuation(
    tokenizer: Any,
    prompt_ids: Sequence[int],
    answer_ids: Sequence[int],
    prompt_logprobs: Sequence[Mapping[int, Any] | None] | None,
) -> ScoredContinuation:
    """The answer's tokens as vLLM ranked them, from the prompt log-probabilities of prompt + answer.

    Args:
        tokenizer: The engine's tokenizer (turns ids into token texts).
        prompt_ids: The rendered request's token ids.
        answer_ids: The continuation's token ids, scored after ``prompt_ids``.
        prompt_logprobs: vLLM's ``RequestOutput.prompt_logprobs`` for ``prompt_ids + answer_ids``:
            one entry per position (None for the first), each mapping token ids to objects with
            ``logprob`` and ``rank``.

    Raises:
        GenerationError: vLLM returned no or too few entries, or an entry lacks the actual token.

    """
    steps = list(prompt_logprobs or ())
    total = len(prompt_ids) + len(answer_ids)
    if len(steps) != total:
        raise GenerationError(
            f"vLLM returned prompt log-probabilities for {len(steps)} of {total} positions; "
            "scoring needs one per position"
        )
    ranks, logprobs, top_ids = [], [], []
    for position, token_id in enumerate(answer_ids, start=len(prompt_ids)):
        step = steps[position]
        if step is None or token_id not in step:
            raise GenerationError(
                f"vLLM's prompt log-probabilities lack the actual token at position {position}"
            )
        chosen = step[token_id]
        ranks.append(int(chosen.rank))
        logprobs.append(float(chosen.logprob))
        top_ids.append(min(step, key=lambda candidate: int(step[candidate].rank)))
    return ScoredContinuation(
        tokens=tuple(token_text(tokenizer, t) for t in answer_ids),
        ranks=tuple(ranks),
        logprobs=tuple(logprobs),
        top_tokens=tuple(token_text(tokenizer, t) for t in top_ids),
        prompt_tokens=len(prompt_ids),
    )


def token_text(tokenizer: Any, token_id: int) -> str:
    """The text of one token, spaces included (a partial UTF-8 character shows as U+FFFD)."""
    return str(tokenizer.decode([token_id], skip_special_tokens=False))


def vocabulary_fingerprint(tokenizer: Any) -> str:
    """sha256 of every token's text in id order, the digest the llama.cpp backend computes.

    Hugging Face and llama.cpp spell SentencePiece tokens the same way ("▁the", "<0x0A>") but
    for whitespace runs, which GGUF files may store with plain spaces; both digests spell every
    space "▁", so the same vocabulary gives the same digest in both backends.
    """
    digest = hashlib.sha256()
    for piece in tokenizer.convert_ids_to_tokens(list(range(len(tokenizer)))):
        digest.update(str(piece or "").replace(" ", "\u2581").encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()
