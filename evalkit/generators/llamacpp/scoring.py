"""Scoring a given continuation with llama.cpp: rank and log-probability of each of its tokens.

One forward pass over prompt + continuation. Only the positions that predict a continuation
token ask llama.cpp for logits, in chunks of at most ``OUTPUTS_PER_DECODE`` positions: the
model is not loaded with ``logits_all`` (which, for Gemma's 262k-token vocabulary, computes
and keeps the vocabulary projection of every prompt position), and the logits buffer
llama.cpp fills per decode call stays at ``OUTPUTS_PER_DECODE x n_vocab`` floats (64 MiB for
Gemma 3).

Each chunk's logits are copied out and ranked in numpy by one worker thread while llama.cpp
decodes the next chunk (both release the GIL), so the numpy passes over the vocabulary
overlap with the model instead of following it. Ranks are exact counts over the whole
vocabulary; log-probabilities use a float32 pairwise sum of the exponentials (relative error
about 1e-6, below the float32 logits' own rounding).
"""

from __future__ import annotations

import ctypes
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from evalkit.errors import GenerationError
from evalkit.generators.llamacpp.engine import import_llama_cpp
from evalkit.generators.tokens import vocabulary_digest

OUTPUTS_PER_DECODE = 64
"""Positions whose logits one decode call returns (bounds the logits buffer)."""

CHUNKS_IN_FLIGHT = 2
"""Chunks whose logits copies may wait for the ranking thread while llama.cpp decodes on."""


@dataclass(frozen=True)
class TokenScores:
    """What the model makes of each continuation token.

    ``ranks``: its rank (1 = the model's top choice); ``logprobs``: its log-probability;
    ``top_ids``: the model's own top choice at that position.
    """

    ranks: npt.NDArray[np.int64]
    logprobs: npt.NDArray[np.float64]
    top_ids: npt.NDArray[np.int64]


def score_tokens(
    llama: Any, prompt: list[int], continuation: list[int], *, outputs_per_decode: int = OUTPUTS_PER_DECODE
) -> TokenScores:
    """Rank and log-probability of each continuation token given the prompt and the tokens before it.

    The prompt is evaluated as generation evaluates it (in n_batch chunks), then the
    continuation in chunks of ``outputs_per_decode`` tokens. llama.cpp's logits depend slightly
    on how tokens are grouped into decode calls (about 0.1 nats on Gemma 3 270M), so a near
    tie between the top two tokens may swap; with ``outputs_per_decode=1`` the grouping, and
    the numbers, are exactly those of greedy generation.

    Call with the shared model's lock held. The model's cached state is reset before and after,
    so the next generation does not reuse a prefix this call overwrote.

    Raises:
        GenerationError: The text does not fit the context, or llama.cpp fails to decode.

    """
    if not prompt:
        raise GenerationError("scoring a continuation needs at least one prompt token")
    tokens = [*prompt, *continuation]
    if len(tokens) > int(llama.n_ctx()):
        raise GenerationError(
            f"prompt + answer are {len(tokens)} tokens but the model context holds {llama.n_ctx()}; "
            "raise the n_ctx option"
        )
    wanted = range(len(prompt) - 1, len(tokens) - 1)  # position i predicts token i + 1
    n_batch = int(llama.n_batch)
    bounds = [
        *_spans(0, len(prompt), n_batch),
        *_spans(len(prompt), len(tokens) - 1, min(n_batch, outputs_per_decode)),
    ]
    llama.reset()
    llama._ctx.kv_cache_clear()
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="evalkit-rank") as ranker:
            pending: list[Future[TokenScores]] = []
            for start, stop in bounds:
                future = _decode_chunk(llama, tokens, start, stop, wanted, ranker)
                if future is not None:
                    pending.append(future)
                if len(pending) > CHUNKS_IN_FLIGHT:
                    pending[-CHUNKS_IN_FLIGHT - 1].result()  # bounds the logits copies held at once
            scored = [future.result() for future in pending]
    finally:
        llama.reset()
        llama._ctx.kv_cache_clear()
    if not scored:
        empty = np.empty(0, dtype=np.int64)
        return TokenScores(ranks=empty, logprobs=np.empty(0, dtype=np.float64), top_ids=empty)
    return TokenScores(
        ranks=np.concatenate([p.ranks for p in scored]),
        logprobs=np.concatenate([p.logprobs for p in scored]),
        top_ids=np.concatenate([p.top_ids for p in scored]),
    )


def _spans(start: int, stop: int, size: int) -> list[tuple[int, int]]:
    """[start, stop) cut into consecutive spans of at most ``size`` positions."""
    return [(begin, min(stop, begin + size)) for begin in range(start, stop, max(size, 1))]


def _decode_chunk(
    llama: Any, tokens: list[int], start: int, stop: int, wanted: range, ranker: Executor
) -> Future[TokenScores] | None:
    """Decode positions [start, stop); hand a copy of their logits to ``ranker``, if any are wanted."""
    batch = llama._batch.batch
    outputs = 0
    for slot, position in enumerate(range(start, stop)):
        batch.token[slot] = tokens[position]
        batch.pos[slot] = position
        batch.n_seq_id[slot] = 1
        batch.seq_id[slot][0] = 0
        batch.logits[slot] = position in wanted
        outputs += int(position in wanted)
    batch.n_tokens = stop - start
    code = import_llama_cpp().llama_decode(llama._ctx.ctx, batch)
    if code != 0:
        raise GenerationError(f"llama.cpp could not decode positions {start}-{stop} (code {code})")
    if not outputs:
        return None
    # Wanted positions are the chunk's last ``outputs`` ones; each predicts the next token.
    targets = np.asarray(tokens[stop - outputs + 1 : stop + 1], dtype=np.int64)
    # A copy: the next decode call overwrites llama.cpp's buffer while this one is ranked.
    return ranker.submit(_rank, np.array(_logits_view(llama, outputs)), targets)


def _logits_view(llama: Any, rows: int) -> npt.NDArray[np.float32]:
    """The last decode's output logits as a (rows, n_vocab) array, without copying."""
    n_vocab = int(llama.n_vocab())
    pointer = import_llama_cpp().llama_get_logits(llama._ctx.ctx)
    return np.ctypeslib.as_array(ctypes.cast(pointer, ctypes.POINTER(ctypes.c_float)), shape=(rows, n_vocab))


def _rank(logits: npt.NDArray[np.float32], targets: npt.NDArray[np.int64]) -> TokenScores:
    """Ranks, log-probabilities and top choices from a (positions, n_vocab) array it overwrites."""
    rows = np.arange(len(targets))
    target_logits = logits[rows, targets]
    # Rank 1 + the number of tokens strictly more likely: ties with the top count as the top.
    ranks = np.count_nonzero(logits > target_logits[:, None], axis=1).astype(np.int64) + 1
    top_ids = logits.argmax(axis=1)
    peak = logits[rows, top_ids]
    shifted = np.subtract(logits, peak[:, None], out=logits)
    log_z = peak.astype(np.float64) + np.log(np.exp(shifted, out=shifted).sum(axis=1), dtype=np.float64)
    return TokenScores(
        ranks=ranks,
        logprobs=target_logits.astype(np.float64) - log_z,
        top_ids=top_ids.astype(np.int64),
    )


def tokenizer_fingerprint(llama: Any) -> str:
    """A digest of the vocabulary (every token's text, in id order): equal digests, same tokenizer.

    The digest (``evalkit.generators.tokens.vocabulary_digest``) is the one vLLM computes too.
    """
    llama_cpp = import_llama_cpp()
    vocab = llama._model.vocab
    return vocabulary_digest(
        llama_cpp.llama_vocab_get_text(vocab, token) or b"" for token in range(int(llama.n_vocab()))
    )


def token_piece(llama: Any, token_id: int) -> str:
    """The text of one token (invalid UTF-8 of a partial character shown as U+FFFD)."""
    return bytes(llama.detokenize([token_id])).decode("utf-8", errors="replace")
