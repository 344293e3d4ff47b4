"""``evalkit run --dry-run``: how many model calls a run would make after the cache, and their cost.

Nothing is called and no record is written. The plan walks the very work items the run
would execute (``evalkit.runner.work``): items already stored with a matching fingerprint
are done; the others preview their requests. Generation is simulated through the cache
turn by turn; a judge request is looked up exactly when both responses are known (stored
or cached), and otherwise estimated from placeholder responses as long as the systems'
``max_tokens``. A judge re-asks once when it cannot read a verdict: that cannot be foreseen
for calls not yet made, so each judge call counts one possible re-ask (an upper bound, priced
apart); a cached answer that does not parse counts one too. A grammar-constrained verdict
never needs one. Keys are not needed: nothing
is sent, and a generator's identity (its cache key) never includes a credential.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from evalkit.cache import CachedCaller
from evalkit.costs import FREE, CostMeter
from evalkit.generators.base import Completion, CompletionRequest
from evalkit.generators.tokens import estimate_prompt_tokens
from evalkit.judging.extraction import parse_verdict
from evalkit.judging.spec import JudgeSpec
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
    reasks: int = 0
    """Re-asks that may follow (at most one per judge answer not known to parse)."""


@dataclass
class ModelPlan:
    """One model's share of one stage: calls, cache answers, possible re-asks and their estimated cost.

    Attributes:
        model: The model spec (as run.json's per-model call counts name it).
        stage: "generate", "pairwise" or "grade".
        calls: Calls the cache cannot answer.
        cached: Requests the cache answers.
        reasks: Re-asks that may follow (an upper bound).
        usd: Estimated cost of ``calls`` (outputs at max_tokens; None: no known price).
        reask_usd: Estimated cost of all ``reasks`` (None: no known price).
        price: Where the price came from: "config", "built-in", "free (local)" or "unknown".

    """

    model: str
    stage: str
    calls: int = 0
    cached: int = 0
    reasks: int = 0
    usd: float | None = 0.0
    reask_usd: float | None = 0.0
    price: str = "unknown"


REASK_OVERHEAD_TOKENS = 40
"""Prompt tokens a re-ask adds beside the first answer: the follow-up message and its framing."""


class Planner:
    """Counts the calls of a pipeline's run without making any."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.config = pipeline.config
        self.meter = CostMeter(pipeline.meter.prices)
        self.known: dict[tuple[str, str, int], Response] = {}
        self.models: dict[tuple[str, str], ModelPlan] = {}
        self._stage = StagePlan("generate")

    def plan(self, prompts: Sequence[Prompt] | None = None) -> list[StagePlan]:
        """One StagePlan per stage with items, with the estimate accumulated in ``self.meter``.

        Args:
            prompts: The run's prompts, when the caller has loaded them already.

        """
        prompts = load_prompts(self.config) if prompts is None else list(prompts)
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

    def count(
        self, caller: CachedCaller, request: CompletionRequest, *, judge: JudgeSpec | None = None
    ) -> Completion | None:
        """Count a request as cached or as a call (priced at max_tokens); returns the cached completion.

        With ``judge``, also count the re-ask that may follow: after any call not yet made, and
        after a cached answer the judge's parser cannot read.
        """
        spec = caller.generator.spec
        tally = self._tally(spec)
        found = caller.lookup(request)
        if found is not None:
            self._stage.cached += 1
            tally.cached += 1
        else:
            self._stage.calls += 1
            tally.calls += 1
            batched = bool(getattr(caller, "batched", False))  # batch jobs are priced at batch rates
            usd = self.meter.add_estimate(spec, request, stage=self._stage.name, batch=batched)
            tally.usd = None if usd is None or tally.usd is None else tally.usd + usd
        if judge is not None and needs_reask(request, found, judge):
            self._count_reask(tally, request, judge)
        return found

    def _tally(self, spec: str) -> ModelPlan:
        key = (spec, self._stage.name)
        if key not in self.models:
            self.models[key] = ModelPlan(spec, self._stage.name, price=self.price_source(spec))
        return self.models[key]

    def _count_reask(self, tally: ModelPlan, request: CompletionRequest, judge: JudgeSpec) -> None:
        """One possible re-ask: the first request plus its answer in, a short verdict out."""
        self._stage.reasks += 1
        tally.reasks += 1
        price = self.meter.prices.price_for(tally.model)
        if price is None or tally.reask_usd is None:
            tally.reask_usd = None
            return
        prompt_tokens = estimate_prompt_tokens(request) + request.params.max_tokens + REASK_OVERHEAD_TOKENS
        tally.reask_usd += price.cost(prompt_tokens, judge.verdict.reask_max_tokens)

    def price_source(self, spec: str) -> str:
        """Which price a model's estimate uses: the config's, the built-in table's, free, or none."""
        table = self.meter.prices
        if table.override([spec, spec.partition("/")[2]]) is not None:
            return "config"
        found = table.price_for(spec)
        if found is None:
            return "unknown"
        return "free (local)" if found == FREE else "built-in"

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


def needs_reask(request: CompletionRequest, found: Completion | None, judge: JudgeSpec) -> bool:
    """Whether a judge call may be followed by a re-ask.

    A grammar-constrained call cannot: its grammar only admits answers in the judge's format
    that end within ``max_tokens``. Otherwise a call not yet made may need one, and a cached
    answer needs one exactly when the judge cannot read it.
    """
    if request.response_format is not None and request.response_format.get("type") == "grammar":
        return False
    return found is None or not parse_verdict(found.text, judge).parsed
