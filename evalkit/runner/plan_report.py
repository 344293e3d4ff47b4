"""What ``evalkit run --dry-run`` prints, and the same plan set beside what a run then made.

The plan needs no API key (nothing is sent); its per-model table shows calls, cache
answers, possible re-asks and the estimated cost of each, with where each price came from
(the config's ``prices:`` win over the built-in table).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from evalkit.analysis.shift_records import load_shift
from evalkit.generators.api.support import keys_optional
from evalkit.records import Prompt
from evalkit.runner.config import RunConfig
from evalkit.runner.meta import Execution
from evalkit.runner.pipeline import Pipeline, load_prompts
from evalkit.runner.plan import ModelPlan, Planner, StagePlan


@dataclass(frozen=True, slots=True)
class RunPlan:
    """A dry run's result: per stage, per model and stage, and the estimated total."""

    stages: tuple[StagePlan, ...]
    models: tuple[ModelPlan, ...]
    total_usd: float
    unpriced: tuple[str, ...]
    shift_passes: int | None = None
    """Scoring passes of the token shift analysis still to do (None: the config asks for none)."""

    @property
    def calls(self) -> int:
        """Calls the cache cannot answer, re-asks not included."""
        return sum(stage.calls for stage in self.stages)

    @property
    def reask_usd(self) -> float:
        """Estimated cost if every possible re-ask happens (priced models only)."""
        return sum(m.reask_usd or 0.0 for m in self.models)


def plan_run(config: RunConfig, *, use_cache: bool = True) -> RunPlan:
    """Count the calls a run of ``config`` would make now, without making any or needing keys.

    Nothing is left behind: a cache that does not exist yet answers nothing, so it is not created.
    """
    missing = _missing_folders(config.run_dir())
    use_cache = use_cache and config.cache_path().exists()
    with keys_optional():
        pipeline = Pipeline(config, use_cache=use_cache, show_progress=False)
    try:
        prompts = load_prompts(config)
        planner = Planner(pipeline)
        stages = planner.plan(prompts)
    finally:
        if pipeline.cache is not None:
            pipeline.cache.close()
        for folder in missing:  # made empty by the pipeline's write check; removed only if still empty
            with contextlib.suppress(OSError):
                folder.rmdir()
    return RunPlan(
        stages=tuple(stages),
        models=tuple(planner.models.values()),
        total_usd=planner.meter.total_usd,
        unpriced=tuple(planner.meter.unpriced_models),
        shift_passes=_shift_passes(config, pipeline, prompts),
    )


def _missing_folders(path: Path) -> list[Path]:
    """``path`` and those of its parents that do not exist yet, deepest first."""
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing


def _shift_passes(config: RunConfig, pipeline: Pipeline, prompts: Sequence[Prompt]) -> int | None:
    """One scoring pass per turn of each aligned answer not scored yet (failed answers included)."""
    settings = config.analyses.shift if config.analyses else None
    if settings is None:
        return None
    turns = sum(len(p.turns) for p in prompts) * config.samples
    done = {
        (a.prompt_id, a.sample, a.turn)
        for a in load_shift(pipeline.run_dir.path)
        if (a.base, a.aligned) == (settings.base, settings.aligned) and a.error is None
    }
    return max(turns - len(done), 0)


def _usd(value: float | None) -> str:
    return "?" if value is None else f"${value:.4f}"


def models_table(models: Sequence[ModelPlan]) -> Table:
    """One row per model and stage: calls, cache answers, possible re-asks, estimated cost, price source."""
    table = Table(title="Per model")
    for column in ("model", "stage", "calls", "cached", "re-asks (at most)", "est. cost", "re-asks cost"):
        table.add_column(column, justify="left" if column in ("model", "stage") else "right")
    table.add_column("price")
    for m in models:
        row = (m.model, m.stage, str(m.calls), str(m.cached), str(m.reasks), _usd(m.usd), _usd(m.reask_usd))
        table.add_row(*(escape(cell) for cell in row), m.price)
    return table


def print_plan(console: Console, plan: RunPlan) -> None:
    """The dry run's report: a line per stage, the per-model table, then the cost estimate."""
    for stage in plan.stages:
        console.print(
            f"{stage.name:<9} {stage.items} items: {stage.already_done} already done, "
            f"{stage.cached} answered by the cache, {stage.calls} model calls"
            + (f", up to {stage.reasks} re-asks" if stage.reasks else "")
        )
    if plan.shift_passes is not None:
        console.print(f"{'shift':<9} {plan.shift_passes} scoring passes (no generation, not cached)")
    if plan.models:
        console.print(models_table(plan.models))
    console.print(
        f"estimated cost: ${plan.total_usd:.4f} (outputs counted at max_tokens); "
        f"up to ${plan.reask_usd:.4f} more if every possible re-ask happens"
    )
    if plan.unpriced:
        console.print(f"no price known for: {escape(', '.join(plan.unpriced))} (not in the estimate)")


@dataclass(frozen=True, slots=True)
class PlannedVsMade:
    """One stage, or one model over all stages: the plan's numbers beside the run's."""

    row: str
    planned_calls: int
    planned_cached: int
    planned_reasks: int
    made_calls: int
    made_cached: int


def planned_vs_made(plan: RunPlan, execution: Execution) -> list[PlannedVsMade]:
    """Line a plan up with the execution that followed it, per stage then per model.

    Made calls are the calls that reached a model (re-asks included, so they may pass the
    planned calls by up to the planned re-asks); cache answers are those of the run.
    """
    stages = {s.name: s for s in execution.stages}
    rows = [
        PlannedVsMade(
            f"stage {stage.name}",
            stage.calls,
            stage.cached,
            stage.reasks,
            _stage_calls(execution, stage.name),
            int(stages[stage.name].extra.get("cache_hits", 0)) if stage.name in stages else 0,
        )
        for stage in plan.stages
    ]
    for model in dict.fromkeys(m.model for m in plan.models):
        mine = [m for m in plan.models if m.model == model]
        made = execution.calls.get(model)
        rows.append(
            PlannedVsMade(
                model,
                sum(m.calls for m in mine),
                sum(m.cached for m in mine),
                sum(m.reasks for m in mine),
                made.calls if made else 0,
                made.cache_hits if made else 0,
            )
        )
    return rows


def _stage_calls(execution: Execution, stage: str) -> int:
    usage = execution.cost.by_stage.get(stage)
    return usage.calls if usage is not None else 0


def planned_vs_made_table(rows: Sequence[PlannedVsMade]) -> Table:
    """The comparison as a table, one row per stage and per model."""
    table = Table(title="Planned (dry run) vs made (run)")
    headers = ("", "planned calls", "re-asks (at most)", "planned cached", "made calls", "made cached")
    for header in headers:
        table.add_column(header, justify="left" if not header else "right")
    for r in rows:
        cells = (r.planned_calls, r.planned_reasks, r.planned_cached, r.made_calls, r.made_cached)
        table.add_row(escape(r.row), *(str(c) for c in cells))
    return table
