"""The work of each stage, listed once: one item per response, per verdict, per set of grades.

Each item knows its resume key (the key of the record it writes), the fingerprint its
records must carry, how many records it writes, how to run, and how to preview its calls
for ``--dry-run`` (``evalkit.runner.plan``), so the run and its plan never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from evalkit.cache import CachedCaller
from evalkit.fingerprint import HUMAN_JUDGE, response_fingerprint, verdict_fingerprint
from evalkit.generators.base import Completion, SamplingParams
from evalkit.judging import Grader, LLMGrader, LLMPairwiseJudge, PairwiseJudge
from evalkit.judging.context import MissingReferenceError
from evalkit.records import Grade, Judgment, Order, Prompt, Response, Usage
from evalkit.runner.config import JudgeConfig, SystemConfig
from evalkit.runner.stages import FATAL_ERRORS, Preview, WorkItem, describe_error
from evalkit.system_templates import SystemTemplate

ResponseIndex = Mapping[tuple[str, str, int], Response]


@dataclass(frozen=True)
class SystemWork:
    """A system as the generation stage needs it."""

    config: SystemConfig
    template: SystemTemplate
    caller: CachedCaller
    fingerprint: str


def sample_params(params: SamplingParams, run_seed: int, sample: int) -> SamplingParams:
    """Give each sample its own seed (unless the system fixes one) so samples differ reproducibly."""
    if params.seed is not None:
        return params
    return params.model_copy(update={"seed": run_seed + sample})


async def generate_response(system: SystemWork, prompt: Prompt, sample: int, run_seed: int) -> Response:
    """Answer every turn of a prompt, feeding each answer back before the next turn."""
    params = sample_params(system.config.params, run_seed, sample)
    outputs: list[str] = []
    completions: list[Completion] = []
    error: str | None = None
    for turn in range(len(prompt.turns)):
        request = system.template.render(prompt, turn, outputs, params)
        try:
            completion = await system.caller(request)
        except FATAL_ERRORS:
            raise
        except Exception as exc:  # per-item failure: recorded on the response, never scored
            error = describe_error(exc)
            break
        outputs.append(completion.text.strip())  # text templates leave a space after "Assistant:"
        completions.append(completion)
    return _response(system.config.name, prompt.id, sample, outputs, completions, error)


def _response(
    system: str,
    prompt_id: str,
    sample: int,
    outputs: list[str],
    completions: list[Completion],
    error: str | None,
) -> Response:
    return Response(
        prompt_id=prompt_id,
        system=system,
        sample=sample,
        outputs=tuple(outputs),
        rendered_prompt=completions[-1].rendered_prompt if completions else "",
        model_id=completions[-1].model_id if completions else "",
        finish_reasons=tuple(c.finish_reason for c in completions),
        usage=Usage(
            prompt_tokens=sum(c.prompt_tokens for c in completions),
            completion_tokens=sum(c.completion_tokens for c in completions),
        ),
        latency_s=sum(c.latency_s for c in completions),
        error=error,
    )


def generation_items(
    systems: Sequence[SystemWork], prompts: Sequence[Prompt], samples: int, run_seed: int
) -> list[WorkItem]:
    """One item per (system, prompt, sample)."""
    return [
        _generation_item(system, prompt, sample, run_seed)
        for system in systems
        for prompt in prompts
        for sample in range(samples)
    ]


def _generation_item(system: SystemWork, prompt: Prompt, sample: int, run_seed: int) -> WorkItem:
    fingerprint = response_fingerprint(system.fingerprint, prompt, sample, run_seed)

    async def run() -> list[Response]:
        response = await generate_response(system, prompt, sample, run_seed)
        return [response.model_copy(update={"fingerprint": fingerprint})]

    def preview(planner: Preview) -> None:
        params = sample_params(system.config.params, run_seed, sample)
        outputs: list[str] = []
        for turn in range(len(prompt.turns)):
            found = planner.count(system.caller, system.template.render(prompt, turn, outputs, params))
            if found is None:
                for _ in range(turn + 1, len(prompt.turns)):  # later turns wait on this answer
                    planner.count(system.caller, system.template.render(prompt, turn, outputs, params))
                return
            outputs.append(found.text.strip())
        name = system.config.name
        planner.simulated(
            Response(
                prompt_id=prompt.id,
                system=name,
                sample=sample,
                outputs=tuple(outputs),
                fingerprint=fingerprint,
            )
        )

    key = Response.failure(prompt.id, system.config.name, sample, "").key
    return WorkItem(key=key, fingerprint=fingerprint, expected=1, run=run, preview=preview)


def unavailable(responses: ResponseIndex, prompt_id: str, systems: Sequence[str], sample: int) -> str | None:
    """Why the responses a verdict needs are missing or failed (None when all are usable)."""
    for name in systems:
        response = responses.get((prompt_id, name, sample))
        if response is None:
            return f"no response from {name} for this prompt"
        if response.error is not None:
            return f"the response from {name} failed ({response.error})"
    return None


def input_fingerprints(
    responses: ResponseIndex, prompt_id: str, systems: Sequence[str], sample: int
) -> list[str]:
    """The fingerprints of the responses a verdict reads ("" where one is missing)."""
    found = (responses.get((prompt_id, name, sample)) for name in systems)
    return [r.fingerprint if r is not None else "" for r in found]


def judge_fingerprint(judge: PairwiseJudge | Grader) -> str:
    """The judge part of its records' fingerprints."""
    return judge.fingerprint or (HUMAN_JUDGE if judge.source.startswith("human:") else judge.source)


@dataclass(frozen=True)
class Pairing:
    """One judged pair of one prompt: which responses, which samples."""

    prompt: Prompt
    pair: tuple[str, str]
    response_sample: int
    judge_sample: int


def pairwise_items(
    judge: PairwiseJudge,
    config: JudgeConfig,
    pairs: Sequence[tuple[str, str]],
    prompts: Sequence[Prompt],
    responses: ResponseIndex,
    response_samples: int,
) -> list[WorkItem]:
    """One item per (pair, prompt, response sample, judge sample, order)."""
    orders: tuple[Order, ...] = ("ab", "ba") if config.orders == "both" else ("ab",)
    return [
        _pairwise_item(judge, Pairing(prompt, pair, rs, js), order, responses)
        for pair in pairs
        for prompt in prompts
        for rs in range(response_samples)
        for js in range(config.samples)
        for order in orders
    ]


def _pairwise_item(
    judge: PairwiseJudge, pairing: Pairing, order: Order, responses: ResponseIndex
) -> WorkItem:
    prompt, pair = pairing.prompt, pairing.pair
    fingerprint = verdict_fingerprint(
        judge_fingerprint(judge),
        prompt,
        input_fingerprints(responses, prompt.id, pair, pairing.response_sample),
    )

    def failure(error: str) -> Judgment:
        return Judgment.failure(
            prompt.id, pair, order, judge.source, error,
            sample=pairing.judge_sample, response_sample=pairing.response_sample, fingerprint=fingerprint,
        )  # fmt: skip

    async def run() -> list[Judgment]:
        missing = unavailable(responses, prompt.id, pair, pairing.response_sample)
        if missing is not None:
            return [failure(missing)]
        a, b = (responses[(prompt.id, name, pairing.response_sample)] for name in pair)
        try:
            judgment = await judge.judge_pair(prompt, a, b, order, pairing.judge_sample)
        except FATAL_ERRORS:
            raise
        except Exception as exc:  # an unexpected backend failure: recorded, never scored
            return [failure(describe_error(exc))]
        return [
            judgment.model_copy(
                update={"response_sample": pairing.response_sample, "fingerprint": fingerprint}
            )
        ]

    def preview(planner: Preview) -> None:
        if not isinstance(judge, LLMPairwiseJudge) or not isinstance(judge.complete, CachedCaller):
            return  # not a model call: nothing to count or pay
        a, b = (planner.response(prompt, name, pairing.response_sample) for name in pair)
        first, second = (a, b) if order == "ab" else (b, a)
        try:
            request = judge.request(prompt, first, second, pairing.judge_sample)
        except MissingReferenceError:
            return  # recorded as a per-item error at run time, no call made
        planner.count(judge.complete, request, judge=judge.spec)

    return WorkItem(key=failure("").key, fingerprint=fingerprint, expected=1, run=run, preview=preview)


def grading_items(
    grader: Grader,
    config: JudgeConfig,
    systems: Sequence[str],
    prompts: Sequence[Prompt],
    responses: ResponseIndex,
    response_samples: int,
) -> list[WorkItem]:
    """One item per (system, prompt, response sample, judge sample); per-turn graders write several."""
    return [
        _grading_item(grader, system, Pairing(prompt, (system, system), rs, js), responses)
        for system in systems
        for prompt in prompts
        for rs in range(response_samples)
        for js in range(config.samples)
    ]


def _grading_item(grader: Grader, system: str, pairing: Pairing, responses: ResponseIndex) -> WorkItem:
    prompt, rs, js = pairing.prompt, pairing.response_sample, pairing.judge_sample
    fingerprint = verdict_fingerprint(
        judge_fingerprint(grader), prompt, input_fingerprints(responses, prompt.id, [system], rs)
    )

    def failure(error: str) -> Grade:
        return Grade.failure(
            prompt.id, system, grader.scale, grader.source, error,
            sample=js, response_sample=rs, fingerprint=fingerprint,
        )  # fmt: skip

    async def run() -> list[Grade]:
        missing = unavailable(responses, prompt.id, [system], rs)
        if missing is not None:
            return [failure(missing)]
        try:
            grades = await grader.grade_response(prompt, responses[(prompt.id, system, rs)], js)
        except FATAL_ERRORS:
            raise
        except Exception as exc:  # an unexpected backend failure: recorded, never scored
            return [failure(describe_error(exc))]
        return [g.model_copy(update={"response_sample": rs, "fingerprint": fingerprint}) for g in grades]

    def preview(planner: Preview) -> None:
        if not isinstance(grader, LLMGrader) or not isinstance(grader.complete, CachedCaller):
            return
        response = planner.response(prompt, system, rs)
        for turn in grader.turns(prompt):
            try:
                planner.count(grader.complete, grader.request(prompt, response, turn, js), judge=grader.spec)
            except MissingReferenceError:
                return

    return WorkItem(
        key=failure("").item_key,
        fingerprint=fingerprint,
        expected=len(grader.turns(prompt)),
        run=run,
        preview=preview,
    )
