"""Deterministic offline backend, shipped as a real provider so the CLI runs end to end in tests.

Specs:
    fake/echo           answers "Echo: <last user text>"
    fake/constant       answers options["text"]
    fake/script         answers options["responses"] in turn (cycling)
    fake/fail           always raises GenerationError (options["message"])

options["delay"] (seconds) makes every call slow, for interruption tests.

Every mode returns log-probabilities when asked: the chosen tokens get probability
options.get("confidence", 0.9) and the remainder is spread over ``options["alternatives"]``.

Every mode scores a given continuation word by word: a word that occurs in the prompt is the
model's top choice (rank 1); any other word has rank 2 + (its length mod 4), so marginal and
shifted words are predictable in tests.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import Field, StrictInt

from evalkit.errors import ConfigError, GenerationError
from evalkit.generators.base import (
    Capabilities,
    Completion,
    CompletionRequest,
    Generator,
    ScoredContinuation,
    TokenLogprob,
)
from evalkit.generators.options import ProviderOptions, parse_options


class FakeOptions(ProviderOptions):
    """Options of ``fake/`` models."""

    text: str = Field("", description="text (fake/constant's answer)")
    responses: list[str] = Field(default_factory=lambda: [""], description="a list of answers (fake/script)")
    message: str = Field("scripted failure", description="text (fake/fail's error)")
    delay: float = Field(0.0, ge=0, description="a number of seconds >= 0")
    confidence: float = Field(0.9, gt=0, le=1, description="a probability in (0, 1]")
    alternatives: list[str] = Field(default_factory=list, description="a list of tokens")
    max_concurrency: StrictInt = Field(8, ge=1, description="a whole number >= 1")
    base_url: str | None = Field(
        None, description="a URL (ignored: lets a fake model stand in for a server in a config)"
    )


Options = FakeOptions


class FakeGenerator(Generator):
    """Offline generator with scripted behaviour; counts its calls for tests."""

    capabilities = Capabilities(
        logprobs=True, raw_prompt=True, local=True, scripted=True, scores_continuation=True
    )

    def __init__(self, spec: str, mode: str, options: Mapping[str, Any] | FakeOptions) -> None:
        self.options = parse_options(FakeOptions, spec, options)
        super().__init__(spec, max_concurrency=self.options.max_concurrency)
        self.mode = mode
        self.calls = 0
        self._script: Iterator[str] = itertools.cycle(self.options.responses or [""])

    def identity(self) -> dict[str, Any]:
        """Spec and the options given that change outputs (not concurrency, not the delay)."""
        given = self.options.model_dump(
            include=self.options.model_fields_set, exclude={"max_concurrency", "delay", "base_url"}
        )
        return {"spec": self.spec, "options": given}

    async def complete(self, request: CompletionRequest) -> Completion:
        """Answer as the mode says, after the optional delay."""
        self.calls += 1
        await asyncio.sleep(self.options.delay)
        text = self._answer(request)
        tokens = text.split(" ") if text else []
        limited = " ".join(tokens[: request.params.max_tokens])
        finish = "length" if len(tokens) > request.params.max_tokens else "stop"
        prompt_text = request.prompt if request.prompt is not None else _flatten(request)
        return Completion(
            text=limited,
            model_id=f"fake-{self.mode}",
            finish_reason=finish,
            prompt_tokens=len(prompt_text.split()),
            completion_tokens=min(len(tokens), request.params.max_tokens),
            rendered_prompt=prompt_text,
            logprobs=self._logprobs(limited, request.top_logprobs),
        )

    async def score_continuation(self, request: CompletionRequest, continuation: str) -> ScoredContinuation:
        """Word-level ranks: words of the prompt are rank 1, others 2 + (length mod 4)."""
        prompt_text = request.prompt if request.prompt is not None else _flatten(request)
        seen = set(prompt_text.split())
        words = tuple(continuation.split())
        ranks = tuple(1 if word in seen else 2 + len(word) % 4 for word in words)
        return ScoredContinuation(
            tokens=words,
            ranks=ranks,
            logprobs=tuple(math.log(0.9 / rank) for rank in ranks),
            top_tokens=tuple(word if rank == 1 else "the" for word, rank in zip(words, ranks, strict=True)),
            prompt_tokens=len(prompt_text.split()),
        )

    async def tokenizer_fingerprint(self) -> str:
        """Every fake model splits text into words alike."""
        return "fake-words"

    def _answer(self, request: CompletionRequest) -> str:
        if self.mode == "echo":
            last = request.messages[-1].content if request.messages else request.prompt or ""
            return f"Echo: {last}"
        if self.mode == "constant":
            return self.options.text
        if self.mode == "script":
            return next(self._script)
        raise GenerationError(self.options.message)

    def _logprobs(self, text: str, top: int | None) -> tuple[TokenLogprob, ...] | None:
        if top is None:
            return None
        confidence = self.options.confidence
        alternatives = self.options.alternatives
        out = []
        for token in text.split(" ") if text else []:
            others = [a for a in alternatives if a != token][: top - 1]
            rest = (1.0 - confidence) / max(len(others), 1)
            ranked = [(token, math.log(confidence))] + [(o, math.log(rest)) for o in others]
            out.append(TokenLogprob(token=token, logprob=math.log(confidence), top=tuple(ranked)))
        return tuple(out)


def _flatten(request: CompletionRequest) -> str:
    return "\n".join(f"{m.role}: {m.content}" for m in request.messages)


def create(name: str, options: Mapping[str, Any]) -> Generator:
    """Factory for ``fake/<mode>``."""
    if name not in {"echo", "constant", "script", "fail"}:
        raise ConfigError(
            f"unknown fake model {name!r}; use fake/echo, fake/constant, fake/script or fake/fail"
        )
    return FakeGenerator(f"fake/{name}", name, options)
