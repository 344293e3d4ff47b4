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
from typing import Any

from evalkit.cache import CachedCaller, ResponseCache
from evalkit.costs import CostMeter, budget_exceeded
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
    ) -> None:
        self.cache = cache
        self.concurrency = concurrency
        self.meter = meter or CostMeter()
        self.max_cost = max_cost
        self._callers: dict[str, CachedCaller] = {}
        self.warnings: dict[str, Counter[str]] = {}
        """Per model spec, how many completions carried each warning (e.g. "logprobs_unsupported")."""

    def caller(self, spec: str, options: Mapping[str, Any] | None = None) -> CachedCaller:
        """The cached caller for a model, building its generator on first use."""
        options = dict(options or {})
        key = _backend_key(spec, options)
        if key not in self._callers:
            generator = create_generator(spec, options)
            if self.concurrency is not None and "max_concurrency" not in options:
                generator.max_concurrency = self.concurrency  # a model's own option wins
            self._callers[key] = CachedCaller(
                generator, self.cache, before_call=self._check_budget, after_call=self._counter(spec)
            )
        return self._callers[key]

    def _check_budget(self, request: CompletionRequest) -> None:
        if self.meter.exceeds(self.max_cost):
            assert self.max_cost is not None
            raise budget_exceeded(self.meter, self.max_cost, not_started=1)

    def _counter(self, spec: str) -> Callable[[Completion], None]:
        def count(completion: Completion) -> None:
            self.meter.add_completion(spec, completion, stage=CURRENT_STAGE.get())
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
        for caller in self._callers.values():
            await caller.generator.aclose()
