"""Fall back to answers without log-probabilities when a server cannot give them.

Some OpenAI-compatible servers answer a request for ``logprobs`` with HTTP 400, 422, 500
or 501. When a request that asked for them fails that way and the same request without
them succeeds, the server is taken to lack the feature: from then on this model's
requests are sent without it (once per model, one warning), and every completion made so
carries a warning saying so, which the run counts and the judge's verdicts reflect (no
probabilities, verdicts read from the text).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from evalkit.generators.base import Completion, CompletionRequest

LOG = logging.getLogger("evalkit.generators")
NO_LOGPROBS = "logprobs_unsupported"
"""Warning on a completion made without the log-probabilities its request asked for."""

Send = Callable[[Any, CompletionRequest], Awaitable[Completion]]


class LogprobSupport:
    """What one model's server does with requests for log-probabilities.

    Attributes:
        refused: The server was seen to fail such requests and succeed without them.

    """

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.refused = False

    async def send(
        self, send: Send, client: Any, request: CompletionRequest, refuses: Callable[[Exception], bool]
    ) -> Completion:
        """Send ``request``; without its log-probabilities when the server cannot give them."""
        if request.top_logprobs is None:
            return await send(client, request)
        if self.refused:
            return _noted(await send(client, _without(request)))
        try:
            return await send(client, request)
        except Exception as exc:
            if not refuses(exc):
                raise
            completion = await send(client, _without(request))  # its own failure is the real one
            self._refuse(exc)
            return _noted(completion)

    def _refuse(self, exc: Exception) -> None:
        if not self.refused:
            self.refused = True
            LOG.warning(
                "%s: the server failed a request for log-probabilities (%s) and answered it without them; "
                "this model's verdicts are read from the text, without probabilities",
                self.spec,
                type(exc).__name__,
            )


def _without(request: CompletionRequest) -> CompletionRequest:
    return request.model_copy(update={"top_logprobs": None})


def _noted(completion: Completion) -> Completion:
    return completion.model_copy(update={"warnings": (*completion.warnings, NO_LOGPROBS)})
