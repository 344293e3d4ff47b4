"""The generator seam: one small ABC every backend implements.

A backend completes one conversation (or one raw text prompt for completion-style
templates) and may return token log-probabilities. Batching backends (vLLM) override
``complete_many`` to submit everything at once; others inherit a bounded-concurrency
gather.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from evalkit.errors import ConfigError, GenerationError
from evalkit.records import Message


class SamplingParams(BaseModel):
    """Sampling parameters; part of every cache key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float = Field(0.0, ge=0.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(512, ge=1)
    seed: int | None = None
    stop: tuple[str, ...] = ()
    repetition_penalty: float | None = Field(None, gt=0.0)


class CompletionRequest(BaseModel):
    """One call to a model.

    Exactly one of ``messages`` (chat) or ``prompt`` (raw text, already rendered by a
    completion-style template) is set. ``top_logprobs`` asks for that many alternatives
    per generated token (None: no log-probabilities).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    messages: tuple[Message, ...] = ()
    prompt: str | None = None
    params: SamplingParams = SamplingParams()
    top_logprobs: int | None = Field(None, ge=1, le=20)
    response_format: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_input(self) -> CompletionRequest:
        if bool(self.messages) == (self.prompt is not None):
            raise ValueError("set exactly one of 'messages' or 'prompt'")
        return self


class TokenLogprob(BaseModel):
    """A generated token, its log-probability, and the top alternatives at that step."""

    model_config = ConfigDict(frozen=True)

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


class Completion(BaseModel):
    """What a backend returned for one request."""

    model_config = ConfigDict(frozen=True)

    text: str
    model_id: str = ""
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    rendered_prompt: str = ""
    logprobs: tuple[TokenLogprob, ...] | None = None
    warnings: tuple[str, ...] = ()
    """What the backend had to change about the request, e.g. "logprobs_unsupported"."""


def check_concurrency(spec: str, value: int) -> int:
    """``value`` when it is a whole number >= 1; a ConfigError naming the model otherwise.

    Raises:
        ConfigError: With nothing allowed in flight, a run would wait forever.

    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"model {spec!r}: option max_concurrency must be a whole number >= 1 (got {value!r}); "
            "with 0 nothing could ever run"
        )
    return value


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, declared by each provider (never guessed from its spec).

    Attributes:
        structured_output: Honours ``response_format`` JSON schemas (constrained decoding),
            so judges can ask for their verdict as JSON.
        grammar: Constrains decoding to a GBNF grammar (``response_format`` of type
            "grammar"), so judges can force their verdict in its own format (llama.cpp, vLLM).
        logprobs: Returns token log-probabilities when a request asks for them.
        raw_prompt: Takes a raw text prompt (completion-style templates), not only chat.
        local: Runs on this machine: no API key, no per-call price, no network.
        scores_continuation: Can score a given continuation (log-probabilities of text
            it is handed rather than text it generates), as llama.cpp and vLLM can.
        base_model: Serves a pretrained base model by default: judges send it one
            plain-text prompt (it never learned a chat format), and reports flag its
            verdicts as a demonstration of the pipeline, not evidence.
        scripted: Answers are scripted, not a model's (the offline ``fake/`` backend).

    """

    structured_output: bool = False
    grammar: bool = False
    logprobs: bool = False
    raw_prompt: bool = True
    local: bool = False
    scores_continuation: bool = False
    base_model: bool = False
    scripted: bool = False

    @property
    def demonstration_only(self) -> bool:
        """Whether its verdicts only demonstrate the pipeline (a tiny base model or a script)."""
        return self.base_model or self.scripted


class ScoredContinuation(BaseModel):
    """A given continuation as the model sees it, token by token.

    For each token: the model's rank of it (1 = the model's own top choice), its
    log-probability and the model's top choice at that position.
    """

    model_config = ConfigDict(frozen=True)

    tokens: tuple[str, ...]
    ranks: tuple[int, ...]
    logprobs: tuple[float, ...]
    top_tokens: tuple[str, ...]
    prompt_tokens: int = 0


class Generator(ABC):
    """A model backend. Subclasses implement ``complete``; ``spec`` is their identity.

    Attributes:
        spec: The spec string it was built from, e.g. "openai/gpt-4o".
        max_concurrency: Requests in flight at once for this backend.
        capabilities: What it can do; subclasses declare theirs (instances may narrow it).

    """

    capabilities: Capabilities = Capabilities()

    @property
    def supports_logprobs(self) -> bool:
        """Shorthand for ``capabilities.logprobs``."""
        return self.capabilities.logprobs

    @property
    def supports_raw_prompt(self) -> bool:
        """Shorthand for ``capabilities.raw_prompt``."""
        return self.capabilities.raw_prompt

    @property
    def supports_structured(self) -> bool:
        """Shorthand for ``capabilities.structured_output``."""
        return self.capabilities.structured_output

    def __init__(self, spec: str, *, max_concurrency: int = 4) -> None:
        self.spec = spec
        self.max_concurrency = check_concurrency(spec, max_concurrency)
        self._semaphore: asyncio.Semaphore | None = None

    @abstractmethod
    async def complete(self, request: CompletionRequest) -> Completion:
        """Complete one request. Raise GenerationError on failure after retries."""

    def identity(self) -> dict[str, Any]:
        """Everything about this backend that changes its outputs; part of the cache key.

        Subclasses add model file hashes, base URLs' model names, engine options, etc.
        Never include secrets.
        """
        return {"spec": self.spec}

    async def complete_many(self, requests: Sequence[CompletionRequest]) -> list[Completion | BaseException]:
        """Complete many requests; failures are returned in place, never raised."""
        return list(
            await asyncio.gather(*(self.complete_limited(r) for r in requests), return_exceptions=True)
        )

    async def complete_limited(
        self, request: CompletionRequest, admit: Callable[[CompletionRequest], None] | None = None
    ) -> Completion:
        """``complete`` under this backend's concurrency limit; what the pipeline calls.

        ``admit`` runs once a slot is free, just before the call, and may refuse it by
        raising (a spent budget is checked there, not while the request waits in line).
        """
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.max_concurrency)
        async with self._semaphore:
            if admit is not None:
                admit(request)
            return await self.complete(request)

    async def score_continuation(self, request: CompletionRequest, continuation: str) -> ScoredContinuation:
        """Score ``continuation`` as the model's answer to ``request`` (``capabilities.scores_continuation``).

        Raises:
            GenerationError: This backend cannot score a given continuation.

        """
        raise GenerationError(
            f"{self.spec} cannot score a given continuation; use a backend that can "
            "(llama.cpp: local/..., gguf/...; vLLM: vllm/..., vllm-server/...)"
        )

    async def tokenizer_fingerprint(self) -> str | None:
        """A digest of the tokenizer's vocabulary, or None when the backend cannot tell."""
        return None

    async def preflight(self) -> None:  # noqa: B027 - most backends have nothing to check
        """Fail fast, before any item starts, when the backend cannot work at all (no server).

        Raises:
            ConfigError: Saying what is missing and how to fix it.

        """

    async def aclose(self) -> None:  # noqa: B027 - most backends hold nothing to release
        """Release engines, servers and connections. Safe to call twice."""
