"""Which judge to trust, for a run folder: the judge comparison plus cost and time from run.json."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evalkit.records import RunRecords
from evalkit.stats.judge_compare import JudgeComparison, compare_judges


def judge_usage(meta: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """Estimated USD and seconds per pairwise judge source, where run.json can attribute them.

    Cost is attributed when the judge's model served that judge alone (not a system, not
    another judge); time when the run had a single pairwise judge (the pairwise stage's time).
    """
    config = meta.get("config", {})
    pairwise = [j for j in config.get("judges", []) if j.get("kind") == "pairwise" and j.get("source")]
    uses: dict[str, int] = {}
    for entry in (*config.get("systems", []), *config.get("judges", [])):
        uses[entry.get("model", "")] = uses.get(entry.get("model", ""), 0) + 1
    usd: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for execution in meta.get("executions", []):
        by_model = execution.get("cost", {}).get("by_model", {})
        for judge in pairwise:
            model = judge.get("model", "")
            if uses.get(model) == 1 and model in by_model:
                usd[judge["source"]] = usd.get(judge["source"], 0.0) + float(by_model[model].get("usd", 0.0))
        if len(pairwise) == 1:
            spent = sum(
                s.get("seconds", 0.0) for s in execution.get("stages", []) if s.get("name") == "pairwise"
            )
            source = pairwise[0]["source"]
            seconds[source] = seconds.get(source, 0.0) + spent
    return usd, seconds


def compare_run_judges(
    records: RunRecords, meta: Mapping[str, Any], *, n_boot: int = 1000, seed: int = 0
) -> list[JudgeComparison]:
    """Every pairwise judge of a run side by side (see evalkit.stats.judge_compare)."""
    systems = {s["name"]: s.get("model", "") for s in meta.get("config", {}).get("systems", [])}
    usd, seconds = judge_usage(meta)
    return compare_judges(
        records.judgments, records.responses, systems, usd=usd, seconds=seconds, n_boot=n_boot, seed=seed
    )
