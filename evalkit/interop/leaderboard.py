"""AlpacaEval-style leaderboards of a run folder: the published fields, length control included."""

from __future__ import annotations

from dataclasses import replace

from evalkit.runner.meta import RunMeta, RunRecords
from evalkit.stats.alpaca_eval import AlpacaEvalRow, alpaca_eval_rows
from evalkit.stats.alpaca_lc import LengthControlled, alpaca_eval_length_controlled
from evalkit.stats.pairwise import Verdict
from evalkit.stats.panels import run_verdicts


def _verdicts(records: RunRecords, source: str | None) -> list[Verdict]:
    sources = records.meta.probability_sources()
    return [
        v for v in run_verdicts(records.judgments, probability_sources=sources) if source in (None, v.source)
    ]


def length_control(
    records: RunRecords, *, source: str | None = None, n_boot: int = 200, seed: int = 0
) -> list[LengthControlled]:
    """AlpacaEval's length-controlled win rate of every candidate against its source's baseline."""
    return alpaca_eval_length_controlled(
        _verdicts(records, source), records.responses, n_boot=n_boot, seed=seed
    )


def alpaca_eval_leaderboard(
    records: RunRecords,
    *,
    source: str | None = None,
    controlled: list[LengthControlled] | None = None,
) -> list[AlpacaEvalRow]:
    """AlpacaEval's leaderboard rows for every comparison of a run (optionally one source only).

    Args:
        records: The run's records (``records.meta`` is its run record).
        source: Keep only verdicts of this source (e.g. "import:weighted_alpaca_eval_gpt4_turbo").
        controlled: Length-controlled rates to fill in (``length_control``); computed when None.

    Returns:
        One row per (model, baseline, source), best win rate first within each source.

    """
    rows = alpaca_eval_rows(_verdicts(records, source), records.responses)
    found = controlled if controlled is not None else length_control(records, source=source)
    by_key = {(lc.model, lc.baseline, lc.source): lc for lc in found}
    filled = []
    for row in rows:
        lc = by_key.get((row.model, row.baseline, row.source))
        if lc is not None:
            row = replace(row, length_controlled_winrate=lc.win_rate, lc_standard_error=lc.standard_error)
        filled.append(row)
    return sorted(filled, key=lambda r: (r.source, -r.win_rate))


def published_modes(meta: RunMeta, rows: list[AlpacaEvalRow]) -> dict[str, str]:
    """The ``mode`` column of imported leaderboards, per model (empty where none was imported)."""
    boards = meta.imported.get("leaderboards", {})
    modes: dict[str, str] = {}
    for board in boards.values():
        for model, row in board.items():
            modes.setdefault(model, str(row.get("mode", "")))
    return {r.model: modes.get(r.model, "") for r in rows}
