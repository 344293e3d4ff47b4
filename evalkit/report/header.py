"""The report header: what was run, by which systems and judges, and whether to trust the judges.

Everything here comes from ``RunRecords.meta`` (the typed run record), falling back to what the
records themselves carry when the run record has no config (imports, older folders), so a
report always renders.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Any

from evalkit.runner.meta import RunMeta, RunRecords

HUMAN_PREFIX = "human:"
LEGACY_DEMO_PREFIXES = ("local/", "gguf/", "fake/")
"""For run folders written before judges' capabilities were recorded: the specs of the tiny
embedded and scripted backends, whose verdicts demonstrate the pipeline only."""


@dataclass(frozen=True, slots=True)
class SystemInfo:
    """One compared system: a model plus its prompt template and sampling parameters."""

    name: str
    model: str
    template: str
    params: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class JudgeInfo:
    """One judge as configured (or as recorded on its verdicts)."""

    judge: str
    model: str
    source: str
    kind: str
    version: str
    demonstration_only: bool | None = None

    @property
    def is_local(self) -> bool:
        """True for judges whose backend declares a base model or a script (tiny, demo only)."""
        if self.demonstration_only is not None:
            return self.demonstration_only
        return self.model.startswith(LEGACY_DEMO_PREFIXES)


@dataclass(frozen=True, slots=True)
class RunHeader:
    """Identity, timing and bookkeeping of one run, ready to print."""

    title: str
    name: str
    prompt_set: str
    prompt_set_version: str
    n_prompts: int
    split_counts: tuple[tuple[str, int], ...]
    systems: tuple[SystemInfo, ...]
    judges: tuple[JudgeInfo, ...]
    annotators: tuple[tuple[str, int], ...]
    status: str
    started_at: str
    finished_at: str
    duration: str
    seed: str
    versions: tuple[tuple[str, str], ...]
    counts: tuple[tuple[str, str], ...]
    usage: tuple[tuple[str, str], ...]
    cost: tuple[tuple[str, str], ...]

    @property
    def prompt_set_name(self) -> str:
        """The prompt set as printed: a file's name without its folders (the full path goes in a title).

        Names that are not file paths (a built-in set, "org/dataset" on a hub) are kept whole.
        """
        path = PurePath(self.prompt_set.replace("\\", "/"))
        looks_like_file = self.prompt_set.startswith(("/", ".", "~")) or bool(path.suffix)
        return path.name if looks_like_file and len(path.parts) > 1 else self.prompt_set


def build_header(records: RunRecords, title: str | None = None) -> RunHeader:
    """Collect the header facts from the run record, degrading gracefully where it is silent.

    Args:
        records: The run's records; ``records.meta`` is its run record.
        title: Overrides the page title (default: the run name).

    Returns:
        The header, with every value already turned into display text.

    """
    meta = records.meta
    name = meta.name or (meta.config.name if meta.config else "") or "unnamed run"
    first = next((e.started_at for e in meta.executions if e.started_at), meta.started_at)
    return RunHeader(
        title=title or f"evalkit report: {name}",
        name=name,
        prompt_set=meta.prompt_set or (meta.config.prompts if meta.config else ""),
        prompt_set_version=meta.prompt_set_version,
        n_prompts=len(records.prompts),
        split_counts=tuple(Counter(prompt.split for prompt in records.prompts).items()),
        systems=_systems(meta, records),
        judges=_judges(meta, records),
        annotators=_annotators(records),
        status=meta.status,
        started_at=_timestamp(first or ""),
        finished_at=_timestamp(meta.finished_at or ""),
        duration=_seconds(sum(e.seconds for e in meta.executions)) if meta.executions else "",
        seed=str(meta.seed) if meta.config else "",
        versions=pairs_of(meta.versions),
        counts=_counts(meta, records),
        usage=_usage(meta),
        cost=(("estimated USD", f"{sum(e.cost.total_usd for e in meta.executions):.4f}"),)
        if meta.executions
        else (),
    )


def _counts(meta: RunMeta, records: RunRecords) -> tuple[tuple[str, str], ...]:
    """Executions, calls and cache hits per model over every execution, and records set aside."""
    calls: dict[str, list[int]] = {}
    for execution in meta.executions:
        for spec, count in execution.calls.items():
            total = calls.setdefault(spec, [0, 0])
            total[0] += count.calls
            total[1] += count.cache_hits
    rows = [("executions", str(len(meta.executions)))] if meta.executions else []
    rows += [(spec, f"{n} model calls, {hits} cache hits") for spec, (n, hits) in calls.items()]
    rows += [
        (f"stale {kind}", f"{n} left out (the config or a prompt changed since)")
        for kind, n in records.superseded.items()
    ]
    return tuple(rows)


def _usage(meta: RunMeta) -> tuple[tuple[str, str], ...]:
    tokens: dict[str, list[int]] = {}
    for execution in meta.executions:
        for spec, usage in execution.cost.by_model.items():
            total = tokens.setdefault(spec, [0, 0])
            total[0] += usage.prompt_tokens
            total[1] += usage.completion_tokens
    return tuple((spec, f"{p} prompt + {c} completion tokens") for spec, (p, c) in tokens.items())


def system_models(header: RunHeader) -> dict[str, str]:
    """System name -> model spec, for the self-preference check of the judge diagnostics."""
    return {system.name: system.model for system in header.systems if system.model}


def local_judge_models(header: RunHeader, records: RunRecords) -> tuple[str, ...]:
    """Model specs of tiny local or offline judges, from the config and from the verdicts themselves."""
    specs = {judge.model for judge in header.judges if judge.is_local}
    described = {judge.model for judge in header.judges if judge.demonstration_only is not None}
    provenances = [j.provenance for j in records.judgments] + [g.provenance for g in records.grades]
    for provenance in provenances:
        spec = provenance.model_spec if provenance else ""
        if spec and spec not in described and spec.startswith(LEGACY_DEMO_PREFIXES):
            specs.add(spec)
    return tuple(sorted(specs))


def text_of(value: Any) -> str:
    """Display text for a config value of any shape (None becomes the empty string)."""
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return ", ".join(f"{key}={text_of(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(text_of(item) for item in value)
    return str(value)


def pairs_of(value: Any) -> tuple[tuple[str, str], ...]:
    """A mapping's items as display pairs; anything else becomes no pairs."""
    if not isinstance(value, Mapping):
        return ()
    # Unset values (no seed, no stop strings) say nothing; showing "seed=" only adds noise.
    return tuple(
        (str(key), text_of(item)) for key, item in value.items() if item not in (None, "", [], (), {})
    )


def _systems(meta: RunMeta, records: RunRecords) -> tuple[SystemInfo, ...]:
    if meta.config is not None:
        return tuple(
            # Only what differs from the defaults: the table says what makes a system itself.
            SystemInfo(
                s.name, s.model, s.template, pairs_of(s.params.model_dump(mode="json", exclude_defaults=True))
            )
            for s in meta.config.systems
        )
    model_ids = {response.system: response.model_id for response in records.responses}
    return tuple(SystemInfo(name, model_ids[name], "", ()) for name in sorted(model_ids))


def _judges(meta: RunMeta, records: RunRecords) -> tuple[JudgeInfo, ...]:
    if meta.judges:
        return tuple(
            JudgeInfo(j.judge, j.model, j.source, j.kind, j.version, j.demonstration_only)
            for j in meta.judges
        )
    return _judges_from_records(records)


def _judges_from_records(records: RunRecords) -> tuple[JudgeInfo, ...]:
    found: dict[tuple[str, str], JudgeInfo] = {}
    for kind, items in (("pairwise", records.judgments), ("grade", records.grades)):
        for item in items:
            if item.source.startswith(HUMAN_PREFIX) or (item.source, kind) in found:
                continue
            prov = item.provenance
            found[(item.source, kind)] = JudgeInfo(
                judge=prov.judge if prov else item.source,
                model=prov.model_spec if prov else "",
                source=item.source,
                kind=kind,
                version=prov.judge_version if prov else "",
            )
    return tuple(found.values())


def _timestamp(text: str) -> str:
    """ISO timestamps in a compact readable form; anything else unchanged."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    offset = moment.utcoffset()
    zone = "" if offset is None else " UTC" if not offset else moment.strftime(" UTC%z")
    return moment.strftime("%Y-%m-%d %H:%M:%S") + zone


def _annotators(records: RunRecords) -> tuple[tuple[str, int], ...]:
    """Human label sources and how many labels each gave (pairwise and grades together)."""
    sources = [j.source for j in records.judgments] + [g.source for g in records.grades]
    return tuple(sorted(Counter(s for s in sources if s.startswith(HUMAN_PREFIX)).items()))


def _seconds(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"
