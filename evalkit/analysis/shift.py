"""Token distribution shift between a base system and an aligned one, computed from a run folder.

For every answer of the aligned system, the base system's model reads the prompt rendered in
the base system's template followed by the answer, and ranks each answer token among its own
predictions (see evalkit.stats.shift for the classes and statistics). Results are appended to
the run folder's shift.jsonl as they are computed; a second call scores only what is missing,
failed, or stale (another base model, template or answer).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.analysis.shift_records import ShiftAnswer, shift_store
from evalkit.errors import ConfigError, GenerationError
from evalkit.generators.base import CompletionRequest, Generator
from evalkit.generators.registry import create_generator
from evalkit.records import Prompt, Response
from evalkit.runner.config import RunConfig, SystemConfig
from evalkit.runner.meta import StageCounts
from evalkit.runner.rundir import RunDir
from evalkit.system_templates import SystemTemplate, load_template

GeneratorSource = Callable[[str, Mapping[str, Any]], Generator]


@dataclass(frozen=True)
class ShiftOutcome:
    """What one analysis call did."""

    base: str
    aligned: str
    answers: int
    resumed: int
    scored: int
    errors: int
    tokens: int
    seconds: float


def find_system(config: RunConfig | None, name: str, role: str) -> SystemConfig:
    """The named system of a run's resolved config.

    Raises:
        ConfigError: No system has that name.

    """
    systems = {s.name: s for s in config.systems} if config is not None else {}
    if name not in systems:
        raise ConfigError(
            f"--{role} {name!r} is not a system of this run; systems: {', '.join(systems) or 'none'}"
        )
    return systems[name]


def system_template(config: RunConfig | None, system: SystemConfig) -> SystemTemplate:
    """The system's template, resolving a path against the config's folder as the run did."""
    if system.template.endswith((".yaml", ".yml")):
        return load_template(Path(config.base_dir if config is not None else ".") / system.template)
    return load_template(system.template)


async def check_tokenizers(base: Generator, aligned: Generator, names: tuple[str, str]) -> None:
    """Refuse a base/aligned pair whose models do not split text into the same tokens.

    Raises:
        ConfigError: The tokenizers differ, or a backend cannot say which it has.

    """
    if base is aligned or base.identity() == aligned.identity():
        return  # the same model
    digests = (await base.tokenizer_fingerprint(), await aligned.tokenizer_fingerprint())
    if None in digests:
        pairs = zip(names, (base, aligned), digests, strict=True)
        unknown = [f"{name} ({generator.spec})" for name, generator, digest in pairs if not digest]
        raise ConfigError(
            f"cannot check that {names[0]} and {names[1]} share a tokenizer: the backend of "
            f"{', '.join(unknown)} does not expose one. Token shift compares two models with the same "
            "tokenizer; use local GGUF models (local/..., gguf/...) or the same model for both"
        )
    if digests[0] != digests[1]:
        raise ConfigError(
            f"the base system {names[0]} ({base.spec}) and the aligned system {names[1]} ({aligned.spec}) "
            "have different tokenizers, so their token distributions cannot be compared; "
            "pick a base model and an aligned model of the same family"
        )


async def check_pair(base: SystemConfig, aligned: SystemConfig, generators: GeneratorSource) -> Generator:
    """The base system's generator, once it is known to score answers with the aligned one's tokenizer.

    Raises:
        ConfigError: The base backend cannot score a given answer, or the tokenizers differ.

    """
    scorer = generators(base.model, base.options)
    if not scorer.capabilities.scores_continuation:
        raise ConfigError(
            f"the base system {base.name} uses {base.model}, which cannot score a given answer; "
            "token shift needs a backend that can "
            "(llama.cpp: local/..., gguf/...; vLLM: vllm/..., vllm-server/...)"
        )
    writer = generators(aligned.model, aligned.options)
    await check_tokenizers(scorer, writer, (base.name, aligned.name))
    return scorer


async def preflight_shift(config: RunConfig, generators: GeneratorSource) -> None:
    """Before a run starts, refuse an ``analyses.shift`` that could not run after generation."""
    settings = config.analyses.shift if config.analyses else None
    if settings is not None:
        systems = {s.name: s for s in config.systems}
        await check_pair(systems[settings.base], systems[settings.aligned], generators)


def continuation(request: CompletionRequest, answer: str) -> str:
    """The answer as the model continues the rendered request.

    Stored answers are stripped; text templates end with a cue like "Assistant:" that the
    model follows with a space, so the space is put back (chat renderings end in a newline).
    """
    if request.prompt is not None and not request.prompt.endswith((" ", "\n")):
        return " " + answer
    return answer


def answer_fingerprint(identity: Mapping[str, Any], template: SystemTemplate, text: str) -> str:
    """sha256 of the base model's identity, its template and the scored text."""
    payload = json.dumps([dict(identity), template.fingerprint(), text], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


async def analyze_shift(
    run_path: Path,
    base: str,
    aligned: str,
    *,
    generators: GeneratorSource = create_generator,
    on_answer: Callable[[ShiftAnswer], None] | None = None,
) -> ShiftOutcome:
    """Score every answer of ``aligned`` under ``base``'s model and template; append to shift.jsonl.

    Args:
        run_path: A run folder written by ``evalkit run``.
        base: The base system's name.
        aligned: The aligned system's name.
        generators: Builds a generator from (spec, options); a running pipeline passes its own,
            so a model already loaded is reused.
        on_answer: Called with each new record (progress display).

    Raises:
        ConfigError: Unknown systems, a base model that cannot score continuations, or
            different tokenizers.

    """
    started = time.perf_counter()
    run_dir = RunDir(run_path, create=False)
    config = run_dir.read_meta().config
    base_system, aligned_system = find_system(config, base, "base"), find_system(config, aligned, "aligned")
    template = system_template(config, base_system)
    scorer = await check_pair(base_system, aligned_system, generators)
    prompts = {p.id: p for p in run_dir.store("prompts").load()}
    responses = [r for r in run_dir.store("responses").load() if r.system == aligned and r.error is None]
    store = shift_store(run_path)
    identity = scorer.identity()
    todo = [job for r in responses if r.prompt_id in prompts for job in _jobs(prompts[r.prompt_id], r)]
    wanted = {_key(base, aligned, job): answer_fingerprint(identity, template, job.text) for job in todo}
    stored = store.load()
    kept = _keep_current(stored, wanted)
    if len(kept) != len(stored):
        store.rewrite(kept)  # stale or failed records of this pair are dropped, to be redone
    done = {a.key for a in kept} & set(wanted)
    new: list[ShiftAnswer] = []
    for job in todo:
        key = _key(base, aligned, job)
        if key in done:
            continue
        record = await _score(scorer, template, base_system, job, key, wanted[key])
        store.append([record])
        new.append(record)
        if on_answer is not None:
            on_answer(record)
    return ShiftOutcome(
        base=base,
        aligned=aligned,
        answers=len(todo),
        resumed=len(done),
        scored=sum(r.error is None for r in new),
        errors=sum(r.error is not None for r in new),
        tokens=sum(len(r.ranks) for r in new),
        seconds=time.perf_counter() - started,
    )


@dataclass(frozen=True)
class _Job:
    prompt: Prompt
    response: Response
    turn: int

    @property
    def text(self) -> str:
        return self.response.outputs[self.turn]


def _jobs(prompt: Prompt, response: Response) -> list[_Job]:
    turns = min(len(prompt.turns), len(response.outputs))
    return [_Job(prompt, response, turn) for turn in range(turns)]


def _key(base: str, aligned: str, job: _Job) -> tuple[str, str, str, int, int]:
    return (job.prompt.id, base, aligned, job.response.sample, job.turn)


def _keep_current(
    records: Sequence[ShiftAnswer], wanted: Mapping[tuple[str, str, str, int, int], str]
) -> list[ShiftAnswer]:
    """Records of other pairs, plus this pair's scored records that are still current."""
    pairs = {(key[1], key[2]) for key in wanted}
    kept: dict[tuple[str, str, str, int, int], ShiftAnswer] = {}
    for record in records:
        ours = (record.base, record.aligned) in pairs
        if ours and (record.error is not None or wanted.get(record.key) != record.fingerprint):
            continue
        kept[record.key] = record
    return list(kept.values())


async def _score(
    scorer: Generator,
    template: SystemTemplate,
    base_system: SystemConfig,
    job: _Job,
    key: tuple[str, str, str, int, int],
    fingerprint: str,
) -> ShiftAnswer:
    prompt_id, base, aligned, sample, turn = key
    request = template.render(job.prompt, job.turn, job.response.outputs[: job.turn], base_system.params)
    fields: dict[str, Any] = {
        "prompt_id": prompt_id, "base": base, "aligned": aligned, "sample": sample, "turn": turn,
        "fingerprint": fingerprint,
    }  # fmt: skip
    try:
        scored = await scorer.score_continuation(request, continuation(request, job.text))
    except GenerationError as exc:
        return ShiftAnswer(**fields, error=str(exc).splitlines()[0])
    return ShiftAnswer(
        **fields,
        tokens=scored.tokens,
        ranks=scored.ranks,
        logprobs=scored.logprobs,
        top_tokens=scored.top_tokens,
    )


async def run_configured_shift(
    config: RunConfig, run_dir: RunDir, generators: GeneratorSource
) -> StageCounts | None:
    """The shift analysis a run config asks for (``analyses.shift``), as a pipeline stage."""
    settings = config.analyses.shift if config.analyses else None
    if settings is None:
        return None
    outcome = await analyze_shift(run_dir.path, settings.base, settings.aligned, generators=generators)
    new = outcome.scored + outcome.errors
    return StageCounts(
        name="shift", total=outcome.answers, resumed=outcome.resumed, new=new, errors=outcome.errors,
        seconds=outcome.seconds, extra={"tokens": outcome.tokens},
    )  # fmt: skip
