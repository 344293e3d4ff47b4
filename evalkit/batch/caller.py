"""A cached caller whose cache misses go into provider batches instead of online calls.

``options: {batch: true}`` on an OpenAI or Anthropic model (or ``evalkit run --batch``)
makes the run's stages call that model through :class:`BatchCaller`. A request the cache
cannot answer is written to the model's request file and the item stops with
:class:`~evalkit.errors.RequestInBatch`; the stage sets it aside, lets the coordinator
submit and collect, and runs it again, when the request is answered from the batch's
stored result (and cached, and metered at batch prices). A request that failed in a batch
goes into a new batch up to ``batch_retries`` times, then either online
(``batch_fallback: online``) or onto its item as an error, never scored.

Batch options: ``batch`` (bool), ``batch_retries`` (default 2), ``batch_fallback``
("error" or "online"), ``batch_poll_s`` (default 30), ``batch_max_requests`` and
``batch_max_bytes`` (at most the provider's limits).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from evalkit.batch.anthropic_batches import AnthropicBatches
from evalkit.batch.coordinator import BatchCoordinator, BatchedModel
from evalkit.batch.providers import BatchProvider, OpenAIBatches
from evalkit.cache import CachedCaller, ResponseCache
from evalkit.errors import ConfigError, GenerationError, RequestInBatch
from evalkit.generators.api.anthropic_api import AnthropicGenerator
from evalkit.generators.api.openai_api import OpenAIGenerator
from evalkit.generators.base import Completion, CompletionRequest, Generator

BATCH_OPTIONS = frozenset(
    {"batch", "batch_retries", "batch_fallback", "batch_poll_s", "batch_max_requests", "batch_max_bytes"}
)
FALLBACKS = ("error", "online")
CACHE_WRITE_CHUNK = 1000


@dataclass(frozen=True)
class BatchSettings:
    """A model's batch options, validated."""

    enabled: bool = False
    retries: int = 2
    fallback: str = "error"
    poll_s: float = 30.0
    max_requests: int | None = None
    max_bytes: int | None = None

    @classmethod
    def from_options(cls, spec: str, options: Mapping[str, Any], run_batch: bool) -> BatchSettings:
        """Read the ``batch*`` options of a model (``run_batch``: the run asked for batches)."""
        try:
            settings = cls(
                enabled=bool(options.get("batch", run_batch)),
                retries=int(options.get("batch_retries", 2)),
                fallback=str(options.get("batch_fallback", "error")),
                poll_s=float(options.get("batch_poll_s", 30.0)),
                max_requests=int(options["batch_max_requests"]) if "batch_max_requests" in options else None,
                max_bytes=int(options["batch_max_bytes"]) if "batch_max_bytes" in options else None,
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"model {spec!r}: a batch option is not a number ({exc})") from exc
        if settings.fallback not in FALLBACKS or settings.retries < 0 or settings.poll_s <= 0:
            raise ConfigError(
                f"model {spec!r}: batch_fallback must be one of {', '.join(FALLBACKS)}, "
                "batch_retries at least 0 and batch_poll_s above 0"
            )
        return settings


def batch_provider(generator: Generator) -> BatchProvider | None:
    """The batch API behind a generator (None when it has none: local models, compatible servers)."""
    if isinstance(generator, OpenAIGenerator) and generator.preset is None:
        return OpenAIBatches(generator)
    if isinstance(generator, AnthropicGenerator):
        return AnthropicBatches(generator)
    return None


def batched_model(spec: str, provider: BatchProvider, settings: BatchSettings) -> BatchedModel:
    """The coordinator's view of a model, its file limits capped at the provider's."""
    return BatchedModel(
        spec=spec,
        provider=provider,
        max_requests=min(settings.max_requests or provider.max_requests, provider.max_requests),
        max_bytes=min(settings.max_bytes or provider.max_bytes, provider.max_bytes),
        poll_s=settings.poll_s,
    )


class BatchCaller(CachedCaller):
    """CachedCaller for a batched model: misses are queued for a batch, results served by key.

    Attributes:
        batched: Always True (the planner prices these calls at batch prices).

    """

    batched = True

    def __init__(
        self,
        generator: Generator,
        cache: ResponseCache | None,
        coordinator: BatchCoordinator,
        settings: BatchSettings,
        *,
        before_call: Callable[[CompletionRequest], None] | None = None,
        after_call: Callable[[Completion], None] | None = None,
        before_batch: Callable[[CompletionRequest], float] | None = None,
        after_batch: Callable[[Completion], None] | None = None,
    ) -> None:
        super().__init__(generator, cache, before_call=before_call, after_call=after_call)
        provider = batch_provider(generator)
        if provider is None:
            raise ConfigError(f"model {generator.spec!r} has no batch API; remove its option 'batch'")
        self.provider = provider
        self.coordinator = coordinator
        self.settings = settings
        self.before_batch = before_batch
        self.after_batch = after_batch
        self._served: set[str] = set()  # without a cache, meter each result once per process
        # Served results reach the cache in chunks (one transaction each, not one per
        # request); a kill loses none, since the request store still holds them.
        self._unsaved: dict[str, Completion] = {}
        coordinator.add_model(batched_model(generator.spec, provider, settings))

    async def __call__(self, request: CompletionRequest) -> Completion:
        """A cached answer, a stored batch result, or RequestInBatch after queueing the request.

        Raises:
            RequestInBatch: The request waits for a batch; the item runs again after it.
            GenerationError: The request failed in every batch it was tried in.

        """
        if request.prompt is not None:  # batches carry chat requests only; raw prompts go online
            return await super().__call__(request)
        key = self.key(request)
        found = self._unsaved.get(key) or (self.cache.get(key) if self.cache is not None else None)
        if found is not None:
            self.hits += 1
            return found
        if self.coordinator.queued(key):
            raise RequestInBatch(key)
        row = self.coordinator.store.get(key)
        if row is None or (row.state == "failed" and row.attempts <= self.settings.retries):
            self.coordinator.enqueue(self.generator.spec, key, request, self._estimate(request))
            raise RequestInBatch(key)
        if row.state == "pending" and self.coordinator.file_open(row.file):
            raise RequestInBatch(key)
        if row.state == "pending":  # its file was dropped unsubmitted: write it again
            self.coordinator.enqueue(self.generator.spec, key, request, self._estimate(request))
            raise RequestInBatch(key)
        if row.state == "done":
            return self._serve(key, row.result, request)
        if self.settings.fallback == "online":
            return await super().__call__(request)
        raise GenerationError(f"failed in {row.attempts} batch(es); last: {row.result}", retryable=True)

    def flush(self) -> None:
        """Write the served results not yet in the cache."""
        if self.cache is not None and self._unsaved:
            self.cache.put_many(list(self._unsaved.items()))
        self._unsaved.clear()

    def _estimate(self, request: CompletionRequest) -> float:
        return self.before_batch(request) if self.before_batch is not None else 0.0

    def _serve(self, key: str, text: str, request: CompletionRequest) -> Completion:
        completion = self.provider.completion(text, request)
        if self.cache is not None:
            self._unsaved[key] = completion
            if len(self._unsaved) >= CACHE_WRITE_CHUNK:
                self.flush()
        elif key in self._served:
            return completion
        else:
            self._served.add(key)
        self.calls += 1
        if self.after_batch is not None:
            self.after_batch(completion)
        return completion
