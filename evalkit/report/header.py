"""The report header: what was run, by which systems and judges, and whether to trust the judges.

Everything here comes from ``RunRecords.config`` (the run's resolved config), falling back to what
the records themselves carry when a key is missing, so a report always renders.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from evalkit.records import RunRecords

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


def build_header(records: RunRecords, title: str | None = None) -> RunHeader:
    """Collect the header facts from the run config, degrading gracefully on missing keys.

    Args:
        records: The run's records; ``records.config`` is its resolved config.
        title: Overrides the page title (default: the run name).

    Returns:
        The header, with every value already turned into display text.

    """
    config = records.config
    name = text_of(config.get("name")) or "unnamed run"
    started, finished = text_of(config.get("started_at")), text_of(config.get("finished_at"))
    return RunHeader(
        title=title or f"evalkit report: {name}",
        name=name,
        prompt_set=text_of(config.get("prompts")),
        n_prompts=len(records.prompts),
        split_counts=tuple(Counter(prompt.split for prompt in records.prompts).items()),
        systems=_systems(config.get("systems"), records),
        judges=_judges(config.get("judges"), records),
        annotators=_annotators(records),
        status=text_of(config.get("status")) or "unknown",
        started_at=_timestamp(started),
        finished_at=_timestamp(finished),
        duration=_duration(started, finished),
        seed=text_of(config.get("seed")),
        versions=pairs_of(config.get("versions")),
        counts=pairs_of(config.get("counts")),
        usage=pairs_of(config.get("usage")),
        cost=pairs_of(config.get("cost")),
    )


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


def _systems(configured: Any, records: RunRecords) -> tuple[SystemInfo, ...]:
    if isinstance(configured, Sequence) and not isinstance(configured, str):
        entries = [entry for entry in configured if isinstance(entry, Mapping)]
        return tuple(_system_from_config(entry) for entry in entries)
    model_ids = {response.system: response.model_id for response in records.responses}
    return tuple(SystemInfo(name, model_ids[name], "", ()) for name in sorted(model_ids))


def _system_from_config(entry: Mapping[str, Any]) -> SystemInfo:
    return SystemInfo(
        name=text_of(entry.get("name")),
        model=text_of(entry.get("model")),
        template=text_of(entry.get("template")),
        params=pairs_of(entry.get("params")),
    )


def _judges(configured: Any, records: RunRecords) -> tuple[JudgeInfo, ...]:
    if isinstance(configured, Sequence) and not isinstance(configured, str):
        entries = [entry for entry in configured if isinstance(entry, Mapping)]
        return tuple(_judge_from_config(entry) for entry in entries)
    return _judges_from_records(records)


def _judge_from_config(entry: Mapping[str, Any]) -> JudgeInfo:
    return JudgeInfo(
        judge=text_of(entry.get("judge")),
        model=text_of(entry.get("model")),
        source=text_of(entry.get("source")),
        kind=text_of(entry.get("kind")),
        version=text_of(entry.get("version")),
        demonstration_only=_demonstration_only(entry.get("capabilities")),
    )


def _demonstration_only(capabilities: Any) -> bool | None:
    """From the capabilities recorded with a judge; None when the run folder predates them."""
    if not isinstance(capabilities, Mapping):
        return None
    return bool(capabilities.get("base_model")) or bool(capabilities.get("scripted"))


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


def _duration(started: str, finished: str) -> str:
    try:
        seconds = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    except (ValueError, TypeError):
        return ""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"
