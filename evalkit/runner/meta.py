"""The run record: run.json as a typed, frozen document, and everything a run folder holds.

``RunMeta`` is what the run folder writes and reads; the report and the notebook format it
themselves. Run folders written before it existed (run.json merged from dicts) still load:
``RunMeta.from_stored`` converts them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evalkit.records import Grade, Judgment, Prompt, Response
from evalkit.runner.config import RunConfig

FORMAT_VERSION = 2
"""run.json layout version: 2 is the typed record; files without the field are version 1."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StageCounts(BaseModel):
    """What one stage of one execution did (filled in while the stage runs, then stored).

    Attributes:
        name: "generate", "pairwise" or "grade".
        total: Work items the config asks for.
        resumed: Items already done (stored with a matching fingerprint).
        new: Items produced by this execution.
        errors: New items that failed (kept with their error, retried next time).
        not_started: Items left undone by a spent budget.
        superseded: Stored records set aside because the config, a prompt or an input changed.
        seconds: Wall time of the stage.

    """

    name: str
    total: int = 0
    resumed: int = 0
    new: int = 0
    errors: int = 0
    not_started: int = 0
    superseded: int = 0
    seconds: float = 0.0
    extra: dict[str, Any] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid")


class CallCounts(_Frozen):
    """Backend calls, cache hits and completions per warning (e.g. "logprobs_unsupported") of one model."""

    calls: int = 0
    cache_hits: int = 0
    warnings: dict[str, int] = Field(default_factory=dict)


class Usage(_Frozen):
    """Tokens and estimated cost of one model (or stage) in one execution."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    unpriced_calls: int = 0
    usd: float = 0.0


class CostSummary(_Frozen):
    """The cost meter's totals for one execution."""

    total_usd: float = 0.0
    calls: int = 0
    by_model: dict[str, Usage] = Field(default_factory=dict)
    by_stage: dict[str, Usage] = Field(default_factory=dict)
    unpriced_models: tuple[str, ...] = ()


class Execution(_Frozen):
    """One execution of a run (a run resumed three times has four).

    ``changes`` says, one line each, what changed in the config or the prompts since the
    execution before, making stored records stale.
    """

    started_at: str | None = None
    finished_at: str | None = None
    status: str = "unknown"
    changes: tuple[str, ...] = ()
    stages: tuple[StageCounts, ...] = ()
    calls: dict[str, CallCounts] = Field(default_factory=dict)
    cost: CostSummary = CostSummary()

    @property
    def seconds(self) -> float:
        """Wall time of the execution (from its timestamps, else the time spent in its stages)."""
        try:
            assert self.started_at is not None and self.finished_at is not None
            return (
                datetime.fromisoformat(self.finished_at) - datetime.fromisoformat(self.started_at)
            ).total_seconds()
        except (AssertionError, ValueError):
            return sum(stage.seconds for stage in self.stages)


class ResolvedJudge(_Frozen):
    """What one configured judge resolved to.

    Attributes:
        source: The Judgment/Grade source its records carry, e.g. "llm:lima-pairwise@openai/gpt-4o".
        judge: The judge definition's name.
        kind: "pairwise" or "grade".
        version: The definition's version.
        model: The judge model's spec.
        fingerprint: Digest of the definition, rendered templates, parameters and backend.
        demonstration_only: Its backend declares a tiny base model or a script: its verdicts
            demonstrate the pipeline, they are no evidence (None: not known).
        reconcile: How its two presentation orders combine ("rule": disagreement is a tie;
            "probability": argmax of the mean label probabilities).
        constrained: How its verdicts were constrained: "grammar" (the judge's own format,
            forced by the backend), "json" (JSON following the judge's schema) or None.

    """

    source: str
    judge: str
    kind: str
    version: str = ""
    model: str = ""
    fingerprint: str = ""
    demonstration_only: bool | None = None
    reconcile: str = "rule"
    constrained: str | None = None


class RunMeta(_Frozen):
    """run.json: the resolved config, what it resolved to, versions, seed, status and executions.

    Attributes:
        format_version: Layout version of this file.
        name: The run's name.
        prompt_set: The prompt set it used (a built-in or public name, or a path).
        prompt_set_version: The set's version as loaded: a public set's repository@revision,
            a declared version, or the file's content hash.
        config: The config as run (None for folders made by import or older tools).
        judges: Each configured judge as resolved.
        system_fingerprints: System name -> digest of its definition (backend, template, parameters).
        comparisons: The (model_a, model_b) pairs judged.
        status: "running", "complete", "interrupted", "stopped_at_budget" or "unknown".
        started_at: When the latest execution started (ISO 8601, UTC).
        finished_at: When the latest execution finished.
        seed: Seed of sampling and of every bootstrap.
        versions: Python, platform and the packages that can change results.
        executions: Every execution, oldest first.
        origin: "run", or how the folder was made otherwise (an import command).
        system_models: System name -> model, for folders without a config (imports, comparisons).
        baseline: The system others are compared against, when there is one.
        imported: What an import or a comparison kept beside the records (published
            leaderboards, conflicting answers, dropped prompts), by name.

    """

    format_version: int = FORMAT_VERSION
    name: str = ""
    prompt_set: str = ""
    prompt_set_version: str = ""
    config: RunConfig | None = None
    judges: tuple[ResolvedJudge, ...] = ()
    system_fingerprints: dict[str, str] = Field(default_factory=dict)
    comparisons: tuple[tuple[str, str], ...] = ()
    status: str = "unknown"
    started_at: str | None = None
    finished_at: str | None = None
    seed: int = 0
    versions: dict[str, str] = Field(default_factory=dict)
    executions: tuple[Execution, ...] = ()
    origin: str = "run"
    system_models: dict[str, str] = Field(default_factory=dict)
    baseline: str | None = None
    imported: dict[str, Any] = Field(default_factory=dict)

    @property
    def n_boot(self) -> int:
        """Bootstrap replicates for intervals (the config's, else 2,000)."""
        return 2000 if self.config is None else self.config.n_boot

    @property
    def confidence(self) -> float:
        """Interval coverage (the config's, else 0.95)."""
        return 0.95 if self.config is None else self.config.confidence

    def judge(self, source: str) -> ResolvedJudge | None:
        """The resolved judge behind a record source, if configured."""
        return next((j for j in self.judges if j.source == source), None)

    def probability_sources(self) -> frozenset[str]:
        """Sources whose two orders are reconciled by probability instead of the rule."""
        return frozenset(j.source for j in self.judges if j.reconcile == "probability")

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> RunMeta:
        """Read run.json content of any version (version 1: merged dicts)."""
        if "format_version" in data:
            return cls.model_validate(data)
        return cls.model_validate(_upgrade_v1(data))


def _upgrade_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 kept resolved judge facts inside config.judges and comparisons in the config."""
    config = dict(data.get("config") or {})
    judges = [dict(j) for j in config.get("judges", [])]
    resolved = [
        {
            "source": j.pop("source", ""),
            "judge": j.get("judge", ""),
            "kind": j.pop("kind", ""),
            "version": str(j.pop("version", "")),
            "model": j.get("model", ""),
        }
        for j in judges
    ]
    comparisons = [tuple(p) for p in config.pop("comparisons", None) or []]
    config["judges"] = judges
    try:
        run_config: RunConfig | None = RunConfig.model_validate(config) if config else None
    except ValidationError:
        run_config = None  # an unreadable old config: the records still load and report
    if run_config is not None and not comparisons:
        comparisons = run_config.pairs()
    upgraded: dict[str, Any] = {
        k: data[k] for k in ("status", "started_at", "finished_at", "seed", "versions") if k in data
    }
    return {
        **upgraded,
        "format_version": 1,
        "name": str(config.get("name", "")),
        "prompt_set": str(config.get("prompts", "")),
        "config": run_config,
        "judges": [r for r in resolved if r["source"]],
        "comparisons": comparisons,
        "executions": data.get("executions", []),
    }


class RunRecords(BaseModel):
    """Everything a run folder holds, as loaded: input to statistics and reports.

    Attributes:
        prompts, responses, judgments, grades: The current records (stale ones left out).
        meta: The run record (run.json).
        superseded: How many stored records were left out as stale, per record kind.

    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompts: tuple[Prompt, ...] = ()
    responses: tuple[Response, ...] = ()
    judgments: tuple[Judgment, ...] = ()
    grades: tuple[Grade, ...] = ()
    meta: RunMeta = RunMeta()
    superseded: dict[str, int] = Field(default_factory=dict)
