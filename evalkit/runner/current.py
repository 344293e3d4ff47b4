"""Which stored records are current: the loader's guard against stale results.

A run sets stale records aside when it resumes, but a folder can also be read between a
config edit and the next run, or after a run that was killed half way. So the loader
checks every record against run.json: systems, comparisons and LLM judges that are no
longer configured are left out, and so is any record whose fingerprint no longer matches
what the run record says produced it (including verdicts on a response that was since
redone). Records without a fingerprint (older folders, imports) are kept as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evalkit.fingerprint import HUMAN_JUDGE, response_fingerprint, verdict_fingerprint
from evalkit.records import Grade, Judgment, Prompt, Response
from evalkit.runner.meta import RunMeta, RunRecords

_VERDICTS = ("responses", "judgments", "grades")


def current_records(meta: RunMeta, stored: Mapping[str, Sequence[Any]]) -> RunRecords:
    """Keep what the run record vouches for; count what was left out per record kind."""
    prompts: dict[str, Prompt] = {p.id: p for p in stored.get("prompts", ())}
    # Records of prompts outside this run's selection (an earlier run without --limit) are
    # neither current nor stale: they wait on disk for a run that selects them again.
    scoped = {kind: [r for r in stored.get(kind, ()) if r.prompt_id in prompts] for kind in _VERDICTS}
    responses = [r for r in scoped["responses"] if _current_response(meta, prompts, r)]
    by_key = {r.key: r for r in responses}
    judgments = [j for j in scoped["judgments"] if _current_judgment(meta, prompts, by_key, j)]
    grades = [g for g in scoped["grades"] if _current_grade(meta, prompts, by_key, g)]
    kept = {"responses": responses, "judgments": judgments, "grades": grades}
    left_out = {kind: len(scoped[kind]) - len(records) for kind, records in kept.items()}
    return RunRecords(
        prompts=tuple(prompts.values()),
        responses=tuple(responses),
        judgments=tuple(judgments),
        grades=tuple(grades),
        meta=meta,
        superseded={kind: n for kind, n in left_out.items() if n},
    )


def _configured_systems(meta: RunMeta) -> set[str] | None:
    return None if meta.config is None else {s.name for s in meta.config.systems}


def _current_response(meta: RunMeta, prompts: Mapping[str, Prompt], response: Response) -> bool:
    systems = _configured_systems(meta)
    if systems is not None and response.system not in systems:
        return False
    if not response.fingerprint:
        return True
    prompt = prompts.get(response.prompt_id)
    system_fp = meta.system_fingerprints.get(response.system)
    if prompt is None or system_fp is None:
        return False
    return response.fingerprint == response_fingerprint(system_fp, prompt, response.sample, meta.seed)


def _judge_part(meta: RunMeta, source: str) -> str | None:
    """The judge part of a source's fingerprints (None: an LLM judge no longer configured)."""
    if source.startswith("human:"):
        return HUMAN_JUDGE
    judge = meta.judge(source)
    if judge is not None:
        return judge.fingerprint or source
    if source.startswith("llm:") and meta.config is not None:
        return None
    return source


def _inputs_match(
    meta: RunMeta,
    prompts: Mapping[str, Prompt],
    responses: Mapping[tuple[str, str, int], Response],
    record: Judgment | Grade,
    systems: Sequence[str],
) -> bool:
    judge_part = _judge_part(meta, record.source)
    if judge_part is None:
        return False
    if not record.fingerprint:
        return True
    prompt = prompts.get(record.prompt_id)
    if prompt is None:
        return False
    found = [responses.get((record.prompt_id, name, record.response_sample)) for name in systems]
    inputs = [r.fingerprint if r is not None else "" for r in found]
    return record.fingerprint == verdict_fingerprint(judge_part, prompt, inputs)


def _current_judgment(
    meta: RunMeta,
    prompts: Mapping[str, Prompt],
    responses: Mapping[tuple[str, str, int], Response],
    judgment: Judgment,
) -> bool:
    pair = (judgment.model_a, judgment.model_b)
    if meta.comparisons and pair not in set(meta.comparisons):
        return False
    return _inputs_match(meta, prompts, responses, judgment, pair)


def _current_grade(
    meta: RunMeta,
    prompts: Mapping[str, Prompt],
    responses: Mapping[tuple[str, str, int], Response],
    grade: Grade,
) -> bool:
    systems = _configured_systems(meta)
    if systems is not None and grade.system not in systems:
        return False
    return _inputs_match(meta, prompts, responses, grade, [grade.system])
