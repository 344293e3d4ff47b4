"""The report's numbers as tidy DataFrames for the notebook: one value per cell, no dict or tuple columns.

Each table is computed by the very functions the report uses (``evalkit.report``), with the
run's own seed, replicates and coverage, so a notebook and the report never disagree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from evalkit.report.build import settings_of
from evalkit.report.index import build_index
from evalkit.report.leaderboard_view import Leaderboard, RateAgainst, build_leaderboards, common_opponent
from evalkit.report.pairwise_view import PairwiseTables, compute_tables
from evalkit.runner.meta import RunRecords
from evalkit.stats import GradeDistribution, JudgeDiagnostics, Verdict, bradley_terry, to_frame

PANEL_PREFIX = "panel:"
"""Sources derived from the judges (the panel): pooling them with their members counts twice."""

LEADERBOARD_COLUMNS = [
    "source", "rank", "system", "score", "ci_low", "ci_high", "n_comparisons", "baseline",
    "vs_baseline", "vs_baseline_ci_low", "vs_baseline_ci_high", "vs_baseline_n",
    "length_controlled", "length_controlled_ci_low", "length_controlled_ci_high",
    "alpaca_lc", "alpaca_lc_ci_low", "alpaca_lc_ci_high",
]  # fmt: skip


def pairwise_tables(records: RunRecords, verdicts: Sequence[Verdict]) -> PairwiseTables:
    """The report's pairwise statistics (every grouping, split gaps, length-controlled rates)."""
    return compute_tables(verdicts, records, settings_of(records))


def leaderboards(records: RunRecords, verdicts: Sequence[Verdict], tables: PairwiseTables) -> pd.DataFrame:
    """The report's leaderboards: one Bradley-Terry fit per verdict source (3+ systems), best first."""
    boards = build_leaderboards(
        verdicts,
        tables,
        build_index(records, verdicts),
        settings_of(records),
        charts=False,
        responses=records.responses,
    )
    rows = [row for board in boards for row in _board_rows(board)]
    return pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS)


def pooled_leaderboard(
    records: RunRecords, verdicts: Sequence[Verdict], sources: Sequence[str] | None
) -> pd.DataFrame:
    """One Bradley-Terry fit over the verdicts of several sources (default: every non-panel source)."""
    chosen = set(sources) if sources is not None else {v.source for v in verdicts}
    if sources is None:
        chosen = {s for s in chosen if not s.startswith(PANEL_PREFIX)}
    own = [v for v in verdicts if v.source in chosen]
    settings = settings_of(records)
    ratings = bradley_terry(own, n_boot=settings.n_boot, confidence=settings.confidence, seed=settings.seed)
    label = "pooled: " + ", ".join(sorted(chosen))
    rows = [
        {"source": label, "rank": r.rank, "system": r.system, "score": r.score, "ci_low": r.ci_low,
         "ci_high": r.ci_high, "n_comparisons": r.n_comparisons, "baseline": common_opponent(own)}
        for r in sorted(ratings, key=lambda r: r.rank)
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS)


def _board_rows(board: Leaderboard) -> list[dict[str, Any]]:
    rows = []
    for row in board.rows:
        rating, lc = row.rating, row.alpaca_lc
        rows.append(
            {
                "source": board.source, "rank": rating.rank, "system": rating.system,
                "score": rating.score, "ci_low": rating.ci_low, "ci_high": rating.ci_high,
                "n_comparisons": rating.n_comparisons, "baseline": board.baseline,
                **_against("vs_baseline", row.vs_baseline, with_n=True),
                **_against("length_controlled", row.length_controlled),
                "alpaca_lc": lc.win_rate if lc else math.nan,
                "alpaca_lc_ci_low": lc.ci_low if lc else math.nan,
                "alpaca_lc_ci_high": lc.ci_high if lc else math.nan,
            }
        )  # fmt: skip
    return rows


def _against(name: str, rate: RateAgainst | None, *, with_n: bool = False) -> dict[str, Any]:
    found = {
        name: rate.rate if rate else math.nan,
        f"{name}_ci_low": rate.ci_low if rate else math.nan,
        f"{name}_ci_high": rate.ci_high if rate else math.nan,
    }
    if with_n:
        found[f"{name}_n"] = rate.n if rate else 0
    return found


GAP_COLUMNS = (
    "model_a", "model_b", "source", "group_x", "group_y", "rate_x", "rate_y", "difference",
    "ci_low", "ci_high", "p_value",
)  # fmt: skip
RATE_COLUMNS = (
    "model_a", "model_b", "source", "group", "n", "wins", "ties", "losses", "unresolved",
    "win_rate", "ci_low", "ci_high",
)  # fmt: skip


def split_gaps(tables: PairwiseTables) -> pd.DataFrame:
    """In- minus out-of-distribution win rate per comparison and source, with interval and p-value."""
    return to_frame(list(tables.gaps.values()), GAP_COLUMNS)


def length_controlled(tables: PairwiseTables) -> pd.DataFrame:
    """The report's length-controlled win rate per comparison and source."""
    return to_frame(list(tables.length_controlled.values()), RATE_COLUMNS)


def diagnostics_frame(diagnostics: Sequence[JudgeDiagnostics]) -> pd.DataFrame:
    """One row per judge source: parse rate, position consistency, ties, length bias, warnings as text."""
    rows = []
    for d in diagnostics:
        rows.append(
            {
                "source": d.source, "judgments": d.judgments, "unparsed": d.unparsed, "errors": d.errors,
                "parse_rate": 1 - d.unparsed_rate if not math.isnan(d.unparsed_rate) else math.nan,
                "unparsed_rate": d.unparsed_rate, "pairs": d.pairs,
                "position_consistency": 1 - d.position_flip_rate, "position_flip_rate": d.position_flip_rate,
                "inconsistency_rate": d.inconsistency_rate,
                "first_position_preference": d.first_position_preference, "tie_rate": d.tie_rate,
                "longer_wins_rate": d.longer_wins_rate, "length_coefficient": d.length_coefficient,
                "length_coefficient_ci_low": d.length_coefficient_ci[0],
                "length_coefficient_ci_high": d.length_coefficient_ci[1],
                "warnings": "; ".join(d.warnings),
            }
        )  # fmt: skip
    columns = ["source", "judgments", "unparsed", "errors", "parse_rate", "unparsed_rate", "pairs",
               "position_consistency", "position_flip_rate", "inconsistency_rate",
               "first_position_preference", "tie_rate", "longer_wins_rate", "length_coefficient",
               "length_coefficient_ci_low", "length_coefficient_ci_high", "warnings"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def grades_frame(distributions: Sequence[GradeDistribution]) -> pd.DataFrame:
    """Grade distributions long: one row per (system, scale, source, group, label).

    Multi-aspect means per aspect are left to ``evalkit.stats.grade_distributions``.
    """
    rows = [
        {"system": d.system, "scale": d.scale, "source": d.source, "group": d.group, "label": label,
         "count": d.counts.get(label, 0), "share": d.shares.get(label, math.nan),
         "ci_low": d.share_ci.get(label, (math.nan, math.nan))[0],
         "ci_high": d.share_ci.get(label, (math.nan, math.nan))[1],
         "n": d.n, "unparsed": d.unparsed, "mean_score": d.mean_score,
         "mean_ci_low": d.mean_ci[0] if d.mean_ci else math.nan,
         "mean_ci_high": d.mean_ci[1] if d.mean_ci else math.nan}
        for d in distributions
        for label in d.labels
    ]  # fmt: skip
    columns = ["system", "scale", "source", "group", "label", "count", "share", "ci_low", "ci_high",
               "n", "unparsed", "mean_score", "mean_ci_low", "mean_ci_high"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
