"""Run an experiment end to end: prompts -> responses -> verdicts and grades -> report.

Every stage writes its records before the next reads them; run.json (``RunMeta``) records
the resolved config, fingerprints, versions, seed, status and every execution. A run
killed at any point resumes from disk; one whose config changed redoes what no longer
matches and sets the stale records aside.
"""

from __future__ import annotations

import platform
import sys
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from evalkit.cache import ResponseCache
from evalkit.costs import CostMeter, PriceTable, budget_exceeded
from evalkit.errors import BatchesPendingError, BudgetExceededError, ConfigError
from evalkit.fingerprint import digest
from evalkit.judging import PairwiseJudge
from evalkit.prompts import PromptSet, load_prompt_set
from evalkit.records import Prompt, Response
from evalkit.runner.backends import Backends
from evalkit.runner.changes import describe_changes
from evalkit.runner.config import RunConfig
from evalkit.runner.judges import AnyJudge, JudgeContext, build_judge, describe
from evalkit.runner.meta import Execution, RunMeta, StageCounts
from evalkit.runner.progress import StageProgress
from evalkit.runner.redaction import redacted_config
from evalkit.runner.rundir import RunDir
from evalkit.runner.stages import WorkItem, run_stage
from evalkit.runner.work import (
    ResponseIndex,
    SystemWork,
    generation_items,
    grading_items,
    pairwise_items,
)
from evalkit.system_templates import SystemTemplate, load_template

TRACKED_PACKAGES = (
    "evalkit",
    "llama-cpp-python",
    "openai",
    "anthropic",
    "vllm",
    "numpy",
    "scipy",
    "pydantic",
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def package_versions() -> dict[str, str]:
    """Versions of the packages that can change results, for run.json."""
    found = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in TRACKED_PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def load_chosen_prompts(config: RunConfig) -> PromptSet:
    """The run's prompt set (a built-in or public name, or a path relative to the config), filtered."""
    candidate = config.resolve(config.prompts)
    source: str | Path = candidate if candidate.exists() else config.prompts
    prompt_set = load_prompt_set(source, format=config.prompt_format)
    return prompt_set.filter(limit=config.limit, categories=config.categories, splits=config.splits)


def load_prompts(config: RunConfig) -> list[Prompt]:
    """The run's prompts, in file order."""
    return list(load_chosen_prompts(config).prompts)


class Pipeline:
    """One execution of a RunConfig against its run folder."""

    def __init__(
        self, config: RunConfig, *, use_cache: bool = True, show_progress: bool = True, detach: bool = False
    ) -> None:
        self.config = config
        self.run_dir = RunDir(config.run_dir())
        self.cache = ResponseCache(config.cache_path()) if use_cache else None
        self.meter = CostMeter(PriceTable.from_config(config.prices))
        self.backends = Backends(
            self.cache, concurrency=config.concurrency, meter=self.meter, max_cost=config.max_cost,
            batch_dir=self.run_dir.path / "batches", run_batch=config.batch, detach=detach,
            executor=config.executor,
        )  # fmt: skip
        self.progress = StageProgress(enabled=show_progress)
        self.results: list[StageCounts] = []
        self.changes: list[str] = []
        context = JudgeContext(caller=self.backends.caller, resolve=config.resolve)
        self.judges: list[AnyJudge] = [
            build_judge(j, context, where=f"judges[{i}]") for i, j in enumerate(config.judges)
        ]
        self.systems = [self._system_work(s.name) for s in config.systems]

    def _system_work(self, name: str) -> SystemWork:
        system = next(s for s in self.config.systems if s.name == name)
        path = system.template
        template = load_template(self.config.resolve(path) if path.endswith((".yaml", ".yml")) else path)
        caller = self.backends.caller(system.model, system.options)
        fingerprint = digest(
            {
                "backend": caller.generator.identity(),
                "template": template.model_dump(mode="json"),
                "params": system.params.model_dump(mode="json"),
            }
        )
        return SystemWork(system, template, caller, fingerprint)

    def templates(self) -> dict[str, SystemTemplate]:
        """Each system's template, by system name."""
        return {s.config.name: s.template for s in self.systems}

    def resolved_meta(self, previous: RunMeta) -> RunMeta:
        """run.json for this execution: the config as run and what it resolved to."""
        return previous.model_copy(
            update={
                "format_version": RunMeta().format_version,
                "name": self.config.name,
                "prompt_set": self.config.prompts,
                "config": redacted_config(self.config),
                "judges": tuple(describe(c, j) for c, j in zip(self.config.judges, self.judges, strict=True)),
                "system_fingerprints": {s.config.name: s.fingerprint for s in self.systems},
                "comparisons": tuple(self.config.pairs()),
                "status": "running",
                "started_at": _now(),
                "finished_at": None,
                "seed": self.config.seed,
                "versions": package_versions(),
                "origin": "run",
            }
        )

    async def execute(self) -> RunDir:
        """Run all stages, resuming whatever an earlier run left; returns the run folder."""
        with self.run_dir.lock():
            chosen = load_chosen_prompts(self.config)
            prompts = list(chosen.prompts)
            if not prompts:
                raise ConfigError(
                    f"{self.config.prompts}: the prompt filters (limit, categories, splits) select no "
                    "prompt; widen them"
                )
            previous = self.run_dir.read_meta()
            meta = self.resolved_meta(previous).model_copy(update={"prompt_set_version": chosen.version})
            self.changes = describe_changes(previous, meta, self.run_dir.store("prompts").load(), prompts)
            self.run_dir.store("prompts").rewrite(prompts)
            self.run_dir.write_meta(meta)
            await self._execute_stages(prompts)
        return self.run_dir

    async def _execute_stages(self, prompts: list[Prompt]) -> None:
        try:
            await self.backends.preflight(self.config)
            await self._preflight_analyses()
            with self.progress:
                responses = await self._generate(prompts)
                await self._judge(prompts, responses)
                await self._analyze()
            self._stop_if_over_budget()
            self._finish("complete")
        except BudgetExceededError:
            self._finish("stopped_at_budget")
            raise
        except BatchesPendingError:
            self._finish("waiting_for_batches")
            raise
        except BaseException:
            self._finish("interrupted")
            raise
        finally:
            await self.backends.aclose()
            if self.cache is not None:
                self.cache.close()

    def _stop_if_over_budget(self) -> None:
        not_started = sum(r.not_started for r in self.results)
        if not_started and self.config.max_cost is not None:
            raise budget_exceeded(self.meter, self.config.max_cost, not_started)

    def _finish(self, status: str) -> None:
        """Record this execution (a run resumed three times has four) and the status."""
        meta = self.run_dir.read_meta()
        execution = Execution.model_validate(
            {
                "started_at": meta.started_at,
                "finished_at": _now(),
                "status": status,
                "changes": self.changes,
                "stages": [r.model_dump() for r in self.results],
                "calls": self.backends.call_counts(),
                "cost": self.meter.summary(),
            }
        )
        self.run_dir.write_meta(
            meta.model_copy(
                update={
                    "status": status,
                    "finished_at": execution.finished_at,
                    "executions": (*meta.executions, execution),
                }
            )
        )

    async def _stage(
        self, name: str, kind: str, items: list[WorkItem], prompts: list[Prompt]
    ) -> list[object]:
        records, result = await run_stage(
            name,
            items,
            self.run_dir.store(kind),
            prompt_ids={p.id for p in prompts},
            progress=self.progress,
            hits=lambda: self.backends.hits,
            settle=self.backends.settle_batches,
        )
        self.results.append(result)
        return records

    async def _generate(self, prompts: list[Prompt]) -> list[Response]:
        items = generation_items(self.systems, prompts, self.config.samples, self.config.seed)
        return [
            r for r in await self._stage("generate", "responses", items, prompts) if isinstance(r, Response)
        ]

    def judge_items(
        self, prompts: list[Prompt], index: ResponseIndex
    ) -> tuple[list[WorkItem], list[WorkItem]]:
        """The pairwise and grading items of every configured judge."""
        pair_items: list[WorkItem] = []
        grade_items: list[WorkItem] = []
        names = [s.name for s in self.config.systems]
        for config, judge in zip(self.config.judges, self.judges, strict=True):
            if isinstance(judge, PairwiseJudge):
                pair_items += pairwise_items(
                    judge, config, self.config.pairs(), prompts, index, self.config.samples
                )
            else:
                grade_items += grading_items(judge, config, names, prompts, index, self.config.samples)
        return pair_items, grade_items

    async def _judge(self, prompts: list[Prompt], responses: list[Response]) -> None:
        pair_items, grade_items = self.judge_items(prompts, {r.key: r for r in responses})
        # A stage with no items still runs: it sets aside the records of judges removed from the config.
        await self._stage("pairwise", "judgments", pair_items, prompts)
        await self._stage("grade", "grades", grade_items, prompts)

    async def _preflight_analyses(self) -> None:
        from evalkit.analysis.shift import preflight_shift

        await preflight_shift(self.config, self.backends.generator)

    async def _analyze(self) -> None:
        """Analyses the config asks for, after judging (see evalkit.analysis)."""
        from evalkit.analysis.shift import run_configured_shift

        result = await run_configured_shift(self.config, self.run_dir, self.backends.generator)
        if result is not None:
            self.results.append(result)
