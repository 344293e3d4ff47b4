"""How well ``evalkit run --dry-run`` foresees a run: the plan, then the run, then both side by side.

Plans a config (limited to a few prompts) in a fresh folder, runs it, and prints the plan as
``--dry-run`` does and the planned-vs-made table: calls, possible re-asks and cache answers per
stage and per model, and the ratio of made to planned calls (1.0 when no judge had to re-ask;
at most 1 + re-asks/calls). Then runs it again under a new name on the now-warm cache.

    python benchmarks/bench_dry_run.py examples/quickstart.yaml --limit 3
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from rich.console import Console

from evalkit.runner.config import load_config
from evalkit.runner.meta import RunMeta
from evalkit.runner.pipeline import Pipeline
from evalkit.runner.plan_report import plan_run, planned_vs_made, planned_vs_made_table, print_plan


def plan_then_run(config_path: Path, limit: int, folder: Path, name: str, console: Console) -> None:
    config = load_config(config_path, {"limit": limit, "output_dir": str(folder / "reports"), "name": name})
    plan = plan_run(config)
    console.rule(f"{name}: the dry run")
    print_plan(console, plan)
    asyncio.run(Pipeline(config, show_progress=False).execute())
    meta = RunMeta.model_validate_json((config.run_dir() / "run.json").read_text())
    execution = meta.executions[-1]
    console.rule(f"{name}: planned vs made")
    console.print(planned_vs_made_table(planned_vs_made(plan, execution)))
    made = sum(c.calls for c in execution.calls.values())
    ratio = f"{made / plan.calls:.3f}" if plan.calls else "n/a (nothing planned)"
    allowed = sum(stage.reasks for stage in plan.stages)
    console.print(f"made/planned calls: {made}/{plan.calls} = {ratio}; re-asks allowed: {allowed}")
    shift = next((s for s in execution.stages if s.name == "shift"), None)
    if shift is not None:
        console.print(f"shift scoring passes: planned {plan.shift_passes}, made {shift.new}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--limit", type=int, default=3)
    args = parser.parse_args()
    console = Console(width=130)
    with tempfile.TemporaryDirectory() as folder:
        plan_then_run(args.config.resolve(), args.limit, Path(folder), "cold", console)
        plan_then_run(args.config.resolve(), args.limit, Path(folder), "warm-cache", console)


if __name__ == "__main__":
    main()
