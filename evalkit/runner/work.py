"""Per-item work for each stage: one response, one pairwise verdict, one set of grades."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from evalkit.cache import CachedCaller
from evalkit.generators.base import Completion, SamplingParams
from evalkit.judging import Grader, PairwiseJudge
from evalkit.records import Grade, Judgment, Order, Prompt, Response, Usage
from evalkit.runner.config import JudgeConfig, SystemConfig
from evalkit.runner.stages import FATAL_ERRORS, WorkItem, describe_error
from evalkit.system_templates import SystemTemplate

ResponseIndex = Mapping[tuple[str, str, int], Response]


def sample_params(params: SamplingParams, run_seed: int, sample: int) -> SamplingParams:
    """Give each sample its own seed (unless the system fixes one) so samples differ reproducibly."""
    if params.seed is not None:
        return params
    return params.model_copy(update={"seed": run_seed + sample})


async def generate_response(
    system: SystemConfig,
    template: SystemTemplate,
    caller: CachedCaller,
    prompt: Prompt,
    sample: int,
    run_seed: int,
) -> Response:
    """Answer every turn of a prompt, feeding each answer back before the next turn."""
    params = sample_params(system.params, run_seed, sample)
    outputs: list[str] = []
    completions: list[Completion] = []
    error: str | None = None
    for turn in range(len(prompt.turns)):
        request = template.render(prompt, turn, outputs, params)
        try:
            completion = await caller(request)
        except FATAL_ERRORS:
            raise
        except Exception as exc:  # per-item failure: recorded on the response, never scored
            error = describe_error(exc)
            break
        outputs.append(completion.text.strip())  # text templates leave a space after "Assistant:"
        completions.append(completion)
    return _response(system.name, prompt.id, sample, outputs, completions, error)


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
    systems: Sequence[SystemConfig],
    templates: Mapping[str, SystemTemplate],
    callers: Mapping[str, CachedCaller],
    prompts: Sequence[Prompt],
    samples: int,
    run_seed: int,
) -> list[WorkItem]:
    """One item per (prompt, system, sample)."""
    items = []
    for system in systems:
        for prompt in prompts:
            for sample in range(samples):

                async def run(
                    s: SystemConfig = system, p: Prompt = prompt, k: int = sample
                ) -> list[Response]:
                    return [await generate_response(s, templates[s.name], callers[s.name], p, k, run_seed)]

                items.append(WorkItem(key=(prompt.id, system.name, sample), run=run))
    return items


def unavailable(responses: ResponseIndex, prompt_id: str, systems: Sequence[str], sample: int) -> str | None:
    """Why the responses a verdict needs are missing or failed (None when all are usable)."""
    for name in systems:
        response = responses.get((prompt_id, name, sample))
        if response is None:
            return f"no response from {name} for this prompt"
        if response.error is not None:
            return f"the response from {name} failed ({response.error})"
    return None


def pairwise_items(
    judge: PairwiseJudge,
    judge_config: JudgeConfig,
    caller: CachedCaller,
    pairs: Sequence[tuple[str, str]],
    prompts: Sequence[Prompt],
    responses: ResponseIndex,
    response_samples: int,
) -> list[WorkItem]:
    """One item per (prompt, pair, response sample, judge sample, order)."""
    orders: tuple[Order, ...] = ("ab", "ba") if judge_config.orders == "both" else ("ab",)
    items = []
    for model_a, model_b in pairs:
        for prompt in prompts:
            for rs in range(response_samples):
                for js in range(judge_config.samples):
                    for order in orders:
                        items.append(
                            _pairwise_item(
                                judge, caller, prompt, (model_a, model_b), responses, rs, js, order
                            )
                        )
    return items


def _pairwise_item(
    judge: PairwiseJudge,
    caller: CachedCaller,
    prompt: Prompt,
    pair: tuple[str, str],
    responses: ResponseIndex,
    response_sample: int,
    judge_sample: int,
    order: Order,
) -> WorkItem:
    model_a, model_b = pair
    key = (prompt.id, model_a, model_b, order, judge.source, judge_sample, response_sample)

    async def run() -> list[Judgment]:
        missing = unavailable(responses, prompt.id, pair, response_sample)
        if missing is not None:
            return [
                Judgment(
                    prompt_id=prompt.id,
                    model_a=model_a,
                    model_b=model_b,
                    order=order,
                    source=judge.source,
                    outcome=None,
                    sample=judge_sample,
                    response_sample=response_sample,
                    error=missing,
                )
            ]
        try:
            judgment = await judge.judge(
                caller,
                prompt,
                responses[(prompt.id, model_a, response_sample)],
                responses[(prompt.id, model_b, response_sample)],
                order,
                judge_sample,
            )
        except FATAL_ERRORS:
            raise
        except Exception as exc:  # an unexpected backend failure: recorded, never scored
            judgment = Judgment(
                prompt_id=prompt.id, model_a=model_a, model_b=model_b, order=order, source=judge.source,
                outcome=None, sample=judge_sample, error=describe_error(exc),
            )  # fmt: skip
        return [judgment.model_copy(update={"response_sample": response_sample})]

    return WorkItem(key=key, run=run)


def grading_items(
    grader: Grader,
    judge_config: JudgeConfig,
    caller: CachedCaller,
    systems: Sequence[str],
    prompts: Sequence[Prompt],
    responses: ResponseIndex,
    response_samples: int,
) -> list[WorkItem]:
    """One item per (prompt, system, response sample, judge sample); per-turn graders give several."""
    items = []
    for system in systems:
        for prompt in prompts:
            for rs in range(response_samples):
                for js in range(judge_config.samples):
                    items.append(_grading_item(grader, caller, prompt, system, responses, rs, js))
    return items


def _grading_item(
    grader: Grader,
    caller: CachedCaller,
    prompt: Prompt,
    system: str,
    responses: ResponseIndex,
    response_sample: int,
    judge_sample: int,
) -> WorkItem:
    key = (prompt.id, system, response_sample, grader.source, judge_sample)

    async def run() -> list[Grade]:
        missing = unavailable(responses, prompt.id, [system], response_sample)
        if missing is not None:
            return [
                Grade(
                    prompt_id=prompt.id,
                    system=system,
                    scale=grader.spec.scale_name,
                    source=grader.source,
                    label=None,
                    sample=judge_sample,
                    response_sample=response_sample,
                    error=missing,
                )
            ]
        try:
            grades = await grader.grade(
                caller, prompt, responses[(prompt.id, system, response_sample)], judge_sample
            )
        except FATAL_ERRORS:
            raise
        except Exception as exc:  # an unexpected backend failure: recorded, never scored
            grades = [
                Grade(
                    prompt_id=prompt.id, system=system, scale=grader.spec.scale_name, source=grader.source,
                    label=None, sample=judge_sample, error=describe_error(exc),
                )
            ]  # fmt: skip
        return [g.model_copy(update={"response_sample": response_sample}) for g in grades]

    return WorkItem(key=key, run=run)
