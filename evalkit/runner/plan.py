"""``evalkit run --dry-run``: how many model calls a run would make after the cache, and their cost.

Nothing is called and no record is written. The plan walks the very work items the run
would execute (``evalkit.runner.work``): items already stored with a matching fingerprint
are done; the others preview their requests. Generation is simulated through the cache
turn by turn; a judge request is looked up exactly when both responses are known (stored
or cached), and otherwise estimated from placeholder responses as long as the systems'
``max_tokens``. Re-asks for unparsed verdicts cannot be foreseen and are not counted.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from evalkit.cache import CachedCaller
from evalkit.costs import CostMeter
from evalkit.generators.base import Completion, CompletionRequest
from evalkit.records import Prompt, Response
from evalkit.runner.pipeline import Pipeline, load_prompts
from evalkit.runner.stages import WorkItem, failed, item_key
from evalkit.runner.work import generation_items


@dataclass
class StagePlan:
    """Calls one stage would make: items to do, calls the cache cannot answer, estimated cost."""

    name: str
    items: int = 0
    already_done: int = 0
    calls: int = 0
    cached: int = 0


class Planner:
    """Counts the calls of a pipeline's run without making any."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.config = pipeline.config
        self.meter = CostMeter(pipeline.meter.prices)
        self.known: dict[tuple[str, str, int], Response] = {}
        self._stage = StagePlan("generate")

    def plan(self) -> list[StagePlan]:
        """One StagePlan per stage with items, with the estimate accumulated in ``self.meter``."""
        prompts = load_prompts(self.config)
        generation = self._walk("generate", "responses", self._generation_items(prompts))
        pair_items, grade_items = self.pipeline.judge_items(prompts, self.known)
        pairwise = self._walk("pairwise", "judgments", pair_items)
        grade = self._walk("grade", "grades", grade_items)
        return [generation, *(p for p in (pairwise, grade) if p.items)]

    def _generation_items(self, prompts: Sequence[Prompt]) -> list[WorkItem]:
        return generation_items(self.pipeline.systems, prompts, self.config.samples, self.config.seed)

    def _walk(self, name: str, kind: str, items: Sequence[WorkItem]) -> StagePlan:
        self._stage = StagePlan(name, items=len(items))
        stored = self._done(kind, items)
        for item in items:
            if item.key in stored:
                self._stage.already_done += 1
                continue
            item.preview(self)
        return self._stage

    def _done(self, kind: str, items: Sequence[WorkItem]) -> set[Hashable]:
        """Items stored complete, unfailed and with the fingerprint the run expects."""
        expected = {item.key: item for item in items}
        groups: dict[Hashable, list[object]] = {}
        for record in self.pipeline.run_dir.store(kind).load():
            groups.setdefault(item_key(record), []).append(record)
        done = {
            key
            for key, group in groups.items()
            if key in expected
            and len(group) == expected[key].expected
            and all(
                getattr(r, "fingerprint", "") == expected[key].fingerprint and not failed(r) for r in group
            )
        }
        for key in done:
            self.known.update((r.key, r) for r in groups[key] if isinstance(r, Response))
        return done

    def count(self, caller: CachedCaller, request: CompletionRequest) -> Completion | None:
        """Count a request as cached or as a call (priced at max_tokens); returns the cached completion."""
        found = caller.lookup(request)
        if found is not None:
            self._stage.cached += 1
            return found
        self._stage.calls += 1
        batched = bool(getattr(caller, "batched", False))  # batch jobs are priced at batch rates
        self.meter.add_estimate(caller.generator.spec, request, stage=self._stage.name, batch=batched)
        return None

    def simulated(self, response: Response) -> None:
        """Remember a response the cache alone would produce."""
        self.known[response.key] = response

    def response(self, prompt: Prompt, system: str, sample: int) -> Response:
        """The stored or simulated response, else a placeholder as long as the system's max_tokens."""
        found = self.known.get((prompt.id, system, sample))
        if found is not None:
            return found
        tokens = next(s.params.max_tokens for s in self.config.systems if s.name == system)
        text = "word " * tokens  # about max_tokens tokens: the cost of the longest answer
        return Response(
            prompt_id=prompt.id, system=system, sample=sample, outputs=(text,) * len(prompt.turns)
        )
