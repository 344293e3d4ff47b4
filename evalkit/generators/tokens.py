"""Token estimates from request text, for rate limits and cost estimates (never for billing).

They live with the generators because the API backends admit every attempt against
tokens-per-minute limits with them; evalkit.costs uses the same estimates for dry runs.
The vocabulary digest that local backends compare tokenizers by lives here too.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable

from evalkit.generators.base import CompletionRequest

CHARS_PER_TOKEN = 4
"""English text averages about four characters per token in the common BPE vocabularies."""
TOKENS_PER_MESSAGE = 4
"""Chat formats wrap each message in a few role and separator tokens."""


def estimate_prompt_tokens(request: CompletionRequest) -> int:
    """Rough prompt size in tokens: characters / 4, plus 4 per chat message.

    Good to about ±25% for English prose with BPE vocabularies; code and other scripts
    run higher. Used for dry-run estimates and tokens-per-minute limits, never for billing.
    """
    if request.prompt is not None:
        return math.ceil(len(request.prompt) / CHARS_PER_TOKEN)
    chars = sum(len(m.content) for m in request.messages)
    return math.ceil(chars / CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE * len(request.messages)


def estimate_request_tokens(request: CompletionRequest) -> int:
    """Upper estimate of the tokens a call consumes: prompt estimate plus ``max_tokens``.

    Providers' tokens-per-minute limits count the same way (prompt + max output).
    """
    return estimate_prompt_tokens(request) + request.params.max_tokens


SPACE_PIECE = "\u2581".encode()
"""SentencePiece's visible space, as token texts spell it."""


def vocabulary_digest(pieces: Iterable[bytes]) -> str:
    """sha256 of every token's text in id order: equal digests, same tokenizer.

    Spaces are spelled as SentencePiece's "▁": GGUF files store some whitespace tokens with
    plain spaces, Hugging Face tokenizers with "▁", so llama.cpp and vLLM give one vocabulary
    the same digest.
    """
    digest = hashlib.sha256()
    for piece in pieces:
        digest.update(piece.replace(b" ", SPACE_PIECE))
        digest.update(b"\x00")
    return digest.hexdigest()
