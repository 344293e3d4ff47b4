"""Scoring a given continuation with vLLM: its prompt log-probabilities, read token by token.

vLLM scores the tokens it is handed when a request asks for ``prompt_logprobs``: for every
prompt position after the first, a mapping from token id to its log-probability and rank,
holding the ``k`` best tokens plus the token actually there. With ``k = 1`` that is exactly
what token shift needs (the actual token's rank and log-probability, and the model's top
choice), and the request generates a single token that is thrown away.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import httpx

from evalkit.errors import GenerationError
from evalkit.generators.base import CompletionRequest, ScoredContinuation
from evalkit.generators.tokens import vocabulary_digest
from evalkit.generators.vllm.runtime import import_vllm

PROMPT_LOGPROBS = 1
"""Alternatives vLLM lists per position besides the actual token: the top choice suffices."""


def scoring_params() -> Any:
    """Sampling parameters that make vLLM score the prompt and generate one (discarded) token."""
    return import_vllm().SamplingParams(
        max_tokens=1, temperature=0.0, prompt_logprobs=PROMPT_LOGPROBS, detokenize=False
    )


def scored_continuation(
    prompt_ids: Sequence[int],
    answer_ids: Sequence[int],
    prompt_logprobs: Sequence[Mapping[int, Any] | None] | None,
    text_of: Callable[[int], str],
) -> ScoredContinuation:
    """The answer's tokens as vLLM ranked them, from the prompt log-probabilities of prompt + answer.

    Args:
        prompt_ids: The rendered request's token ids.
        answer_ids: The continuation's token ids, scored after ``prompt_ids``.
        prompt_logprobs: vLLM's ``RequestOutput.prompt_logprobs`` for ``prompt_ids + answer_ids``:
            one entry per position (None for the first), each mapping token ids to objects with
            ``logprob`` and ``rank``.
        text_of: The text of a token id.

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
        tokens=tuple(text_of(t) for t in answer_ids),
        ranks=tuple(ranks),
        logprobs=tuple(logprobs),
        top_tokens=tuple(text_of(t) for t in top_ids),
        prompt_tokens=len(prompt_ids),
    )


def token_text(tokenizer: Any, token_id: int) -> str:
    """The text of one token, spaces included (a partial UTF-8 character shows as U+FFFD)."""
    return str(tokenizer.decode([token_id], skip_special_tokens=False))


def vocabulary_fingerprint(tokenizer: Any) -> str:
    """sha256 of every token's text in id order, the digest the llama.cpp backend computes.

    Hugging Face and llama.cpp spell SentencePiece tokens the same way ("▁the", "<0x0A>") but
    for whitespace runs, which ``vocabulary_digest`` spells "▁" for both.
    """
    pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    return vocabulary_digest(str(piece or "").encode("utf-8") for piece in pieces)


async def score_on_server(
    base_url: str, model: str, request: CompletionRequest, continuation: str, timeout_s: float
) -> ScoredContinuation:
    """Score ``continuation`` after ``request`` on a vLLM OpenAI-compatible server.

    The server tokenizes (its /tokenize endpoint renders chat requests with the model's
    template), then scores the token ids through /v1/completions with ``prompt_logprobs``;
    token texts are the server's own ``decoded_token`` strings.

    Raises:
        GenerationError: The server cannot be reached or refuses a request.

    """
    root = base_url.rstrip("/").removesuffix("/v1")
    async with httpx.AsyncClient(timeout=timeout_s) as client:
        prompt_ids = await _tokenize(client, root, model, _prompt_body(request))
        answer_ids = await _tokenize(
            client, root, model, {"prompt": continuation, "add_special_tokens": False}
        )
        body = {
            "model": model, "prompt": [*prompt_ids, *answer_ids], "max_tokens": 1, "temperature": 0.0,
            "prompt_logprobs": PROMPT_LOGPROBS,
        }  # fmt: skip
        url = f"{root}/v1/completions"
        reply = await _post(client, url, body)
    with _unexpected_reply(url):
        steps = [
            None if step is None else {int(token): SimpleNamespace(**entry) for token, entry in step.items()}
            for step in reply["choices"][0].get("prompt_logprobs") or ()
        ]
        texts = {
            token: str(entry.decoded_token or "") for step in steps if step for token, entry in step.items()
        }
    return scored_continuation(prompt_ids, answer_ids, steps, lambda token: texts.get(token, ""))


def _prompt_body(request: CompletionRequest) -> dict[str, Any]:
    if request.prompt is not None:
        return {"prompt": request.prompt, "add_special_tokens": True}
    messages = [{"role": m.role, "content": m.content} for m in request.messages]
    return {"messages": messages, "add_generation_prompt": True, "add_special_tokens": False}


async def _tokenize(client: httpx.AsyncClient, root: str, model: str, body: dict[str, Any]) -> list[int]:
    url = f"{root}/tokenize"
    reply = await _post(client, url, {"model": model, **body})
    with _unexpected_reply(url):
        return [int(token) for token in reply["tokens"]]


@contextmanager
def _unexpected_reply(url: str) -> Iterator[None]:
    """A reply without the expected fields becomes a GenerationError (recorded per item, not a crash)."""
    try:
        yield
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise GenerationError(
            f"the vLLM server at {url} answered without the expected fields ({type(exc).__name__}: {exc})"
        ) from exc


async def _post(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        response = await client.post(url, json=body)
    except httpx.HTTPError as exc:
        raise GenerationError(f"the vLLM server at {url} could not be reached: {exc}") from exc
    if response.status_code >= 400:
        raise GenerationError(
            f"the vLLM server refused {url} (HTTP {response.status_code}): {response.text[:300]}"
        )
    with _unexpected_reply(url):
        reply: dict[str, Any] = response.json()
    return reply
