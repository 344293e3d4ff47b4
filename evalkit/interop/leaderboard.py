"""AlpacaEval-style leaderboards of a run folder: the published fields, length control included."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evalkit.records import RunRecords
from evalkit.stats.alpaca_eval import AlpacaEvalRow, alpaca_eval_rows
from evalkit.stats.panels import run_verdicts


def alpaca_eval_leaderboard(records: RunRecords, *, source: str | None = None) -> list[AlpacaEvalRow]:
    """AlpacaEval's leaderboard rows for every comparison of a run (optionally one source only).

    Args:
        records: The run's records (``records.config`` is its resolved config).
        source: Keep only verdicts of this source (e.g. "import:weighted_alpaca_eval_gpt4_turbo").

    Returns:
        One row per (model, baseline, source), best win rate first within each source.

    """
    verdicts = [v for v in run_verdicts(records.judgments, records.config) if source in (None, v.source)]
    rows = alpaca_eval_rows(verdicts, records.responses)
    return sorted(rows, key=lambda r: (r.source, -r.win_rate))


def published_modes(meta: Mapping[str, Any], rows: list[AlpacaEvalRow]) -> dict[str, str]:
    """The ``mode`` column of imported leaderboards, per model (empty where none was imported)."""
    boards = meta.get("imported", {}).get("leaderboards", {})
    modes: dict[str, str] = {}
    for board in boards.values():
        for model, row in board.items():
            modes.setdefault(model, str(row.get("mode", "")))
    return {r.model: modes.get(r.model, "") for r in rows}
