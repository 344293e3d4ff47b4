"""``evalkit run --dry-run``: how many model calls a run would make after the cache, and their cost.

Nothing is called and no record is written. Generation is simulated through the cache turn
by turn; a judge request is looked up exactly when both responses are already known (stored
or cached), and otherwise estimated from placeholder responses as long as the systems'
``max_tokens``. Re-asks for unparsed verdicts cannot be foreseen and are not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evalkit.cache import CachedCaller
from evalkit.costs import CostMeter
from evalkit.generators.base import CompletionRequest
from evalkit.judging import Grader, PairwiseJudge
from evalkit.judging.context import MissingReferenceError
from evalkit.records import Prompt, Response
from evalkit.runner.pipeline import Pipeline, load_prompts
from evalkit.runner.work import sample_params


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

    def plan(self) -> list[StagePlan]:
        """One StagePlan per stage, with the estimate accumulated in ``self.meter``."""
        prompts = load_prompts(self.config)
        return [self._generation(prompts), *self._judging(prompts)]

    def _count(self, caller: CachedCaller, request: CompletionRequest, plan: StagePlan) -> bool:
        """Look a request up; count it as cached or as a call. True when cached."""
        if caller.lookup(request) is not None:
            plan.cached += 1
            return True
        plan.calls += 1
        self.meter.add_estimate(
            caller.generator.spec, request, stage=plan.name, batch=getattr(caller, "batched", False)
        )
        return False

    def _generation(self, prompts: Sequence[Prompt]) -> StagePlan:
        plan = StagePlan("generate")
        stored = {r.key: r for r in self.pipeline.run_dir.store("responses").load() if r.error is None}
        templates = self.pipeline.templates()
        for system in self.config.systems:
            caller = self.pipeline.backends.caller(system.model, system.options)
            batched = getattr(caller, "batched", False)
            for prompt in prompts:
                for sample in range(self.config.samples):
                    plan.items += 1
                    key = (prompt.id, system.name, sample)
                    if key in stored:
                        plan.already_done += 1
                        self.known[key] = stored[key]
                        continue
                    params = sample_params(system.params, self.config.seed, sample)
                    outputs: list[str] = []
                    for turn in range(len(prompt.turns)):
                        request = templates[system.name].render(prompt, turn, outputs, params)
                        found = caller.lookup(request)
                        if found is None:
                            plan.calls += len(prompt.turns) - turn
                            for _ in range(len(prompt.turns) - turn):
                                self.meter.add_estimate(system.model, request, stage=plan.name, batch=batched)
                            break
                        plan.cached += 1
                        outputs.append(found.text)
                    else:
                        self.known[key] = Response(
                            prompt_id=prompt.id, system=system.name, outputs=tuple(outputs)
                        )
        return plan

    def _placeholder(self, prompt: Prompt, system: str, sample: int) -> Response:
        found = self.known.get((prompt.id, system, sample))
        if found is not None:
            return found
        tokens = next(s.params.max_tokens for s in self.config.systems if s.name == system)
        text = "word " * tokens  # about max_tokens tokens: the cost of the longest answer
        return Response(
            prompt_id=prompt.id, system=system, sample=sample, outputs=(text,) * len(prompt.turns)
        )

    def _judging(self, prompts: Sequence[Prompt]) -> list[StagePlan]:
        pairwise, grade = StagePlan("pairwise"), StagePlan("grade")
        for judge_config, judge in zip(self.config.judges, self.pipeline.judges, strict=True):
            caller = self.pipeline.backends.caller(judge_config.model, judge_config.options)
            for prompt in prompts:
                for rs in range(self.config.samples):
                    for js in range(judge_config.samples):
                        try:
                            if isinstance(judge, PairwiseJudge):
                                self._plan_pairs(judge, judge_config.orders, caller, prompt, rs, js, pairwise)
                            else:
                                self._plan_grades(judge, caller, prompt, rs, js, grade)
                        except MissingReferenceError:
                            continue  # recorded as a per-item error at run time, no call made
        return [p for p in (pairwise, grade) if p.items]

    def _plan_pairs(
        self,
        judge: PairwiseJudge,
        orders: str,
        caller: CachedCaller,
        prompt: Prompt,
        rs: int,
        js: int,
        plan: StagePlan,
    ) -> None:
        for model_a, model_b in self.config.pairs():
            a, b = self._placeholder(prompt, model_a, rs), self._placeholder(prompt, model_b, rs)
            shown = [(a, b), (b, a)] if orders == "both" else [(a, b)]
            for first, second in shown:
                plan.items += 1
                self._count(caller, judge.request(prompt, first, second, js), plan)

    def _plan_grades(
        self, grader: Grader, caller: CachedCaller, prompt: Prompt, rs: int, js: int, plan: StagePlan
    ) -> None:
        for system in self.config.systems:
            response = self._placeholder(prompt, system.name, rs)
            for turn in grader.turns(prompt):
                plan.items += 1
                self._count(caller, grader.request(prompt, response, turn, js), plan)
