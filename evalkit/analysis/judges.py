"""Which judge to trust, for a run folder: the judge comparison plus cost and time from run.json."""

from __future__ import annotations

from collections import Counter

from evalkit.runner.meta import RunMeta, RunRecords
from evalkit.stats.judge_compare import JudgeComparison, compare_judges


def judge_usage(meta: RunMeta) -> tuple[dict[str, float], dict[str, float]]:
    """Estimated USD and seconds per pairwise judge source, where run.json can attribute them.

    Cost is attributed when the judge's model served that judge alone (not a system, not
    another judge); time when the run had a single pairwise judge (the pairwise stage's time).
    """
    pairwise = [j for j in meta.judges if j.kind == "pairwise"]
    models = (
        [*(s.model for s in meta.config.systems), *(j.model for j in meta.config.judges)]
        if meta.config
        else []
    )
    uses = Counter(models)
    usd: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for execution in meta.executions:
        by_model = execution.cost.by_model
        for judge in pairwise:
            if uses.get(judge.model) == 1 and judge.model in by_model:
                usd[judge.source] = usd.get(judge.source, 0.0) + by_model[judge.model].usd
        if len(pairwise) == 1:
            spent = sum(s.seconds for s in execution.stages if s.name == "pairwise")
            seconds[pairwise[0].source] = seconds.get(pairwise[0].source, 0.0) + spent
    return usd, seconds


def compare_run_judges(
    records: RunRecords, meta: RunMeta, *, n_boot: int = 1000, seed: int = 0
) -> list[JudgeComparison]:
    """Every pairwise judge of a run side by side (see evalkit.stats.judge_compare)."""
    systems = {s.name: s.model for s in meta.config.systems} if meta.config else dict(meta.system_models)
    usd, seconds = judge_usage(meta)
    return compare_judges(
        records.judgments, records.responses, systems, usd=usd, seconds=seconds, n_boot=n_boot, seed=seed
    )
