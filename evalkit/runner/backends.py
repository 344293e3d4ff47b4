"""Build each backend once per run and share it between systems and judges.

A local model used both as a system and as a judge is loaded once; every backend is
called through the cache, and the calls, hits, tokens and estimated cost are counted per
model and stage. With a budget, a call that would start after the estimate passed it is
refused (BudgetExceededError) so the run stops cleanly and can be resumed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from evalkit.batch.caller import BATCH_OPTIONS, BatchCaller, BatchSettings, batch_provider
from evalkit.batch.coordinator import BatchCoordinator
from evalkit.cache import CachedCaller, ResponseCache
from evalkit.costs import CostMeter, budget_exceeded
from evalkit.distributed.config import ExecutorConfig
from evalkit.generators.base import Completion, CompletionRequest, Generator
from evalkit.generators.registry import create_generator
from evalkit.runner.config import RunConfig

CURRENT_STAGE: ContextVar[str] = ContextVar("evalkit_stage", default="generate")
"""The stage whose items are running; tasks inherit it, so costs are kept per stage."""


def _backend_key(spec: str, options: Mapping[str, Any]) -> str:
    return spec + "|" + json.dumps(dict(options), sort_keys=True, default=str)


class Backends:
    """One generator and one cached caller per distinct (model spec, options)."""

    def __init__(
        self,
        cache: ResponseCache | None,
        *,
        concurrency: int | None = None,
        meter: CostMeter | None = None,
        max_cost: float | None = None,
        batch_dir: Path | None = None,
        run_batch: bool = False,
        detach: bool = False,
        executor: ExecutorConfig | None = None,
    ) -> None:
        self.cache = cache
        self.concurrency = concurrency
        self.meter = meter or CostMeter()
        self.max_cost = max_cost
        self.batch_dir = batch_dir
        self.run_batch = run_batch
        self.detach = detach
        self.batches: BatchCoordinator | None = None
        self.executor = executor or ExecutorConfig()
        self._callers: dict[str, CachedCaller] = {}
        self.warnings: dict[str, Counter[str]] = {}
        """Per model spec, how many completions carried each warning (e.g. "logprobs_unsupported")."""

    def caller(self, spec: str, options: Mapping[str, Any] | None = None) -> CachedCaller:
        """The cached caller for a model, building its generator on first use."""
        options = dict(options or {})
        key = _backend_key(spec, options)
        if key not in self._callers:
            generator = self._create(spec, {k: v for k, v in options.items() if k not in BATCH_OPTIONS})
            if self.concurrency is not None and "max_concurrency" not in options:
                generator.max_concurrency = self.concurrency  # a model's own option wins
            settings = BatchSettings.from_options(spec, options, self.run_batch)
            wanted = settings.enabled and self.batch_dir is not None
            if wanted and (options.get("batch") or batch_provider(generator) is not None):
                self._callers[key] = self._batch_caller(spec, generator, settings)
            else:
                self._callers[key] = CachedCaller(
                    generator, self.cache, before_call=self._check_budget, after_call=self._counter(spec)
                )
        return self._callers[key]

    def _create(self, spec: str, options: dict[str, Any]) -> Generator:
        if self.executor.runs_on_cluster(spec):
            from evalkit.distributed.ray_pool import RayPoolGenerator  # Ray only when asked for

            return RayPoolGenerator(spec, options, self.executor)
        return create_generator(spec, options)

    def _batch_caller(self, spec: str, generator: Generator, settings: BatchSettings) -> BatchCaller:
        if self.batches is None:
            assert self.batch_dir is not None
            self.batches = BatchCoordinator(self.batch_dir, self.batch_dir.parent.name, detach=self.detach)
        return BatchCaller(
            generator, self.cache, self.batches, settings, before_call=self._check_budget,
            after_call=self._counter(spec), before_batch=self._reserve(spec),
            after_batch=self._counter(spec, batch=True),
        )  # fmt: skip

    def _reserve(self, spec: str) -> Callable[[CompletionRequest], float]:
        """Refuse to queue a batch request once spent plus queued estimates pass the budget."""

        def reserve(request: CompletionRequest) -> float:
            estimate = self.meter.estimate(spec, request, batch=True)
            queued = self.batches.reserved_usd if self.batches is not None else 0.0
            if self.max_cost is not None and self.meter.total_usd + queued + estimate > self.max_cost:
                raise budget_exceeded(self.meter, self.max_cost, not_started=1)
            return estimate

        return reserve

    async def settle_batches(self) -> None:
        """Submit what the batched models queued and collect their batches (see BatchCoordinator)."""
        if self.batches is not None:
            await self.batches.settle()

    def flush(self) -> None:
        """Write what batched callers served into the cache (they write in chunks)."""
        for caller in self._callers.values():
            if isinstance(caller, BatchCaller):
                caller.flush()

    def _check_budget(self, request: CompletionRequest) -> None:
        if self.meter.exceeds(self.max_cost):
            assert self.max_cost is not None
            raise budget_exceeded(self.meter, self.max_cost, not_started=1)

    def _counter(self, spec: str, *, batch: bool = False) -> Callable[[Completion], None]:
        def count(completion: Completion) -> None:
            self.meter.add_completion(spec, completion, stage=CURRENT_STAGE.get(), batch=batch)
            if completion.warnings:
                self.warnings.setdefault(spec, Counter()).update(completion.warnings)

        return count

    def generator(self, spec: str, options: Mapping[str, Any] | None = None) -> Generator:
        """The generator behind a model spec."""
        return self.caller(spec, options).generator

    async def preflight(self, config: RunConfig) -> None:
        """Check every backend the run needs before any item starts (see Generator.preflight)."""
        for system in config.systems:
            await self.generator(system.model, system.options).preflight()
        for judge in config.judges:
            if judge.model:  # judges of other kinds (a plugin, people) may use no model
                await self.generator(judge.model, judge.options).preflight()

    @property
    def calls(self) -> int:
        """Backend calls made so far (cache misses)."""
        return sum(c.calls for c in self._callers.values())

    @property
    def hits(self) -> int:
        """Requests answered from the cache so far."""
        return sum(c.hits for c in self._callers.values())

    def call_counts(self) -> dict[str, dict[str, Any]]:
        """Calls, cache hits and completions per warning, per model spec, for run.json."""
        counts: dict[str, dict[str, Any]] = {}
        for caller in self._callers.values():
            entry = counts.setdefault(caller.generator.spec, {"calls": 0, "cache_hits": 0})
            entry["calls"] += caller.calls
            entry["cache_hits"] += caller.hits
        for spec, warnings in self.warnings.items():
            counts.setdefault(spec, {"calls": 0, "cache_hits": 0})["warnings"] = dict(warnings)
        return counts

    async def aclose(self) -> None:
        """Shut every backend down (engines, servers, connections)."""
        self.flush()
        for caller in self._callers.values():
            await caller.generator.aclose()
        if self.batches is not None:
            self.batches.close()
            self.batches = None
