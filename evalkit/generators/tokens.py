"""Token estimates from request text, for rate limits and cost estimates (never for billing).

They live with the generators because the API backends admit every attempt against
tokens-per-minute limits with them; evalkit.costs uses the same estimates for dry runs.
"""

from __future__ import annotations

import math

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
