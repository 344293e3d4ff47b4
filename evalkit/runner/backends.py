"""Build each backend once per run and share it between systems and judges.

A local model used both as a system and as a judge is loaded once; every backend is
called through the cache, and the calls and hits are counted per model for the report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from evalkit.cache import CachedCaller, ResponseCache
from evalkit.generators.base import Generator
from evalkit.generators.registry import create_generator


def _backend_key(spec: str, options: Mapping[str, Any]) -> str:
    return spec + "|" + json.dumps(dict(options), sort_keys=True, default=str)


class Backends:
    """One generator and one cached caller per distinct (model spec, options)."""

    def __init__(self, cache: ResponseCache | None, *, concurrency: int | None = None) -> None:
        self.cache = cache
        self.concurrency = concurrency
        self._callers: dict[str, CachedCaller] = {}

    def caller(self, spec: str, options: Mapping[str, Any] | None = None) -> CachedCaller:
        """The cached caller for a model, building its generator on first use."""
        options = dict(options or {})
        key = _backend_key(spec, options)
        if key not in self._callers:
            generator = create_generator(spec, options)
            if self.concurrency is not None:
                generator.max_concurrency = self.concurrency
            self._callers[key] = CachedCaller(generator, self.cache)
        return self._callers[key]

    def generator(self, spec: str, options: Mapping[str, Any] | None = None) -> Generator:
        """The generator behind a model spec."""
        return self.caller(spec, options).generator

    @property
    def calls(self) -> int:
        """Backend calls made so far (cache misses)."""
        return sum(c.calls for c in self._callers.values())

    @property
    def hits(self) -> int:
        """Requests answered from the cache so far."""
        return sum(c.hits for c in self._callers.values())

    def call_counts(self) -> dict[str, dict[str, int]]:
        """Calls and cache hits per model spec, for run.json."""
        counts: dict[str, dict[str, int]] = {}
        for caller in self._callers.values():
            entry = counts.setdefault(caller.generator.spec, {"calls": 0, "cache_hits": 0})
            entry["calls"] += caller.calls
            entry["cache_hits"] += caller.hits
        return counts

    async def aclose(self) -> None:
        """Shut every backend down (engines, servers, connections)."""
        for caller in self._callers.values():
            await caller.generator.aclose()
