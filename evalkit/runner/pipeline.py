"""Run an experiment end to end: prompts -> responses -> verdicts and grades -> report.

Every stage writes its records before the next reads them; run.json records the resolved
config, versions, seed, status and counts. A run killed at any point resumes from disk.
"""

from __future__ import annotations

import platform
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from evalkit.cache import ResponseCache
from evalkit.costs import CostMeter, PriceTable, budget_exceeded
from evalkit.errors import BudgetExceededError
from evalkit.generators.api_base import redact_url
from evalkit.judging import Grader, PairwiseJudge, load_judge, make_judge
from evalkit.prompts import load_prompt_set
from evalkit.records import Grade, Judgment, Prompt, Response
from evalkit.runner.backends import Backends
from evalkit.runner.config import JudgeConfig, RunConfig
from evalkit.runner.progress import StageProgress
from evalkit.runner.rundir import RunDir
from evalkit.runner.stages import StageResult, run_stage
from evalkit.runner.work import ResponseIndex, generation_items, grading_items, pairwise_items
from evalkit.templates import SystemTemplate, load_template

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


def load_prompts(config: RunConfig) -> list[Prompt]:
    """The run's prompts: a built-in set name or a path relative to the config file."""
    candidate = config.resolve(config.prompts)
    source: str | Path = candidate if candidate.exists() else config.prompts
    prompt_set = load_prompt_set(source, format=config.prompt_format)
    chosen = prompt_set.filter(limit=config.limit, categories=config.categories, splits=config.splits)
    return list(chosen.prompts)


def judge_source(judge_config: JudgeConfig, judge_name: str) -> str:
    """The Judgment/Grade source label of a configured judge."""
    return f"llm:{judge_config.name}" if judge_config.name else f"llm:{judge_name}@{judge_config.model}"


class Pipeline:
    """One execution of a RunConfig against its run folder."""

    def __init__(self, config: RunConfig, *, use_cache: bool = True, show_progress: bool = True) -> None:
        self.config = config
        self.run_dir = RunDir(config.run_dir())
        self.cache = ResponseCache(config.cache_path()) if use_cache else None
        self.meter = CostMeter(PriceTable.from_config(config.prices))
        self.backends = Backends(
            self.cache, concurrency=config.concurrency, meter=self.meter, max_cost=config.max_cost
        )
        self.progress = StageProgress(enabled=show_progress)
        self.results: list[StageResult] = []
        self.judges = [self._build_judge(j) for j in config.judges]

    def _build_judge(self, judge_config: JudgeConfig) -> PairwiseJudge | Grader:
        spec = load_judge(
            self.config.resolve(judge_config.judge)
            if judge_config.judge.endswith((".yaml", ".yml"))
            else judge_config.judge
        )
        generator = self.backends.generator(judge_config.model, judge_config.options)
        return make_judge(
            spec,
            judge_config.model,
            source=judge_source(judge_config, spec.name),
            supports_logprobs=generator.supports_logprobs,
            supports_structured=bool(getattr(generator, "supports_structured", False)),
            text_prompt=judge_config.uses_text_prompt(),
        )

    def templates(self) -> dict[str, SystemTemplate]:
        """Each system's template, by system name."""
        return {
            s.name: load_template(
                self.config.resolve(s.template) if s.template.endswith((".yaml", ".yml")) else s.template
            )
            for s in self.config.systems
        }

    def resolved_config(self) -> dict[str, Any]:
        """The config as run, plus what each judge resolved to, for run.json and the report."""
        data = self.config.model_dump(mode="json")
        data["judges"] = [
            {**jc.model_dump(mode="json"), "source": j.source, "kind": j.spec.kind, "version": j.spec.version}
            for jc, j in zip(self.config.judges, self.judges, strict=True)
        ]
        data["comparisons"] = [list(p) for p in self.config.pairs()]
        for entry in (*data["systems"], *data["judges"]):
            entry["options"] = _redacted(entry.get("options", {}))
        return data

    async def execute(self) -> RunDir:
        """Run all stages, resuming whatever an earlier run left; returns the run folder."""
        prompts = load_prompts(self.config)
        self.run_dir.store("prompts").rewrite(prompts)
        self.run_dir.write_meta(
            {
                **self.run_dir.read_meta(),
                "config": self.resolved_config(),
                "status": "running",
                "started_at": _now(),
                "seed": self.config.seed,
                "versions": package_versions(),
            }
        )
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
        except BaseException:
            self._finish("interrupted")
            raise
        finally:
            await self.backends.aclose()
            if self.cache is not None:
                self.cache.close()
        return self.run_dir

    def _stop_if_over_budget(self) -> None:
        not_started = sum(r.not_started for r in self.results)
        if not_started and self.config.max_cost is not None:
            raise budget_exceeded(self.meter, self.config.max_cost, not_started)

    def _finish(self, status: str) -> None:
        """Record this execution (a run resumed three times has four) and the status."""
        meta = self.run_dir.read_meta()
        execution = {
            "started_at": meta.get("started_at"),
            "finished_at": _now(),
            "status": status,
            "stages": [asdict(r) for r in self.results],
            "calls": self.backends.call_counts(),
            "cost": self.meter.summary(),
        }
        executions = [*meta.get("executions", []), execution]
        self.run_dir.write_meta({**meta, "status": status, "finished_at": execution["finished_at"],
                                 "executions": executions})  # fmt: skip

    async def _generate(self, prompts: list[Prompt]) -> list[Response]:
        systems = self.config.systems
        callers = {s.name: self.backends.caller(s.model, s.options) for s in systems}
        items = generation_items(
            systems, self.templates(), callers, prompts, self.config.samples, self.config.seed
        )
        records, result = await run_stage(
            "generate",
            items,
            self.run_dir.store("responses"),
            item_key=lambda r: r.key,
            failed=lambda r: r.error is not None,
            progress=self.progress,
            hits=lambda: self.backends.hits,
        )
        self.results.append(result)
        return records

    async def _judge(self, prompts: list[Prompt], responses: list[Response]) -> None:
        index: ResponseIndex = {r.key: r for r in responses}
        pair_items, grade_items = [], []
        for judge_config, judge in zip(self.config.judges, self.judges, strict=True):
            caller = self.backends.caller(judge_config.model, judge_config.options)
            if isinstance(judge, PairwiseJudge):
                pair_items += pairwise_items(
                    judge, judge_config, caller, self.config.pairs(), prompts, index, self.config.samples
                )
            else:
                grade_items += grading_items(
                    judge,
                    judge_config,
                    caller,
                    [s.name for s in self.config.systems],
                    prompts,
                    index,
                    self.config.samples,
                )
        if pair_items:
            _, result = await run_stage(
                "pairwise",
                pair_items,
                self.run_dir.store("judgments"),
                item_key=_judgment_key,
                failed=lambda j: j.error is not None,
                progress=self.progress,
                hits=lambda: self.backends.hits,
            )
            self.results.append(result)
        if grade_items:
            _, result = await run_stage(
                "grade",
                grade_items,
                self.run_dir.store("grades"),
                item_key=_grade_item_key,
                failed=lambda g: g.error is not None,
                progress=self.progress,
                hits=lambda: self.backends.hits,
            )
            self.results.append(result)

    async def _preflight_analyses(self) -> None:
        from evalkit.analysis.shift import preflight_shift

        await preflight_shift(self.config, self.backends.generator)

    async def _analyze(self) -> None:
        """Analyses the config asks for, after judging (see evalkit.analysis)."""
        from evalkit.analysis.shift import run_configured_shift

        result = await run_configured_shift(self.config, self.run_dir, self.backends.generator)
        if result is not None:
            self.results.append(result)


def _redacted(options: dict[str, Any]) -> dict[str, Any]:
    """Options as stored in run.json and reports: URLs without user:password."""
    return {k: redact_url(v) if isinstance(v, str) and "://" in v else v for k, v in options.items()}


def _judgment_key(j: Judgment) -> tuple[Any, ...]:
    return j.key


def _grade_item_key(g: Grade) -> tuple[Any, ...]:
    return (g.prompt_id, g.system, g.response_sample, g.source, g.sample)
