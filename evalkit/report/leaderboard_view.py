"""Leaderboard section: Bradley–Terry ratings per judge source when 3+ systems were compared."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evalkit.records import Response
from evalkit.report.charts import forest_svg, length_curve_svg
from evalkit.report.index import ReportIndex
from evalkit.report.pairwise_view import PairwiseTables, StatSettings
from evalkit.stats import (
    LengthControlled,
    Rating,
    Verdict,
    WinRate,
    alpaca_eval_length_controlled,
    bradley_terry,
)
from evalkit.stats.alpaca_eval import verdict_score
from evalkit.stats.lengths import response_lengths, verdict_lengths

MIN_SYSTEMS = 3


@dataclass(frozen=True, slots=True)
class RateAgainst:
    """A win rate of one system against the baseline, seen from that system's side."""

    rate: float
    ci_low: float
    ci_high: float
    n: int


@dataclass(frozen=True, slots=True)
class LeaderRow:
    """One system's rating, plus its raw and length-controlled win rates against the baseline."""

    rating: Rating
    vs_baseline: RateAgainst | None
    length_controlled: RateAgainst | None
    alpaca_lc: LengthControlled | None = None


@dataclass(frozen=True, slots=True)
class LengthView:
    """The chart of win rate against length difference (an inlined SVG)."""

    chart: str


@dataclass(frozen=True, slots=True)
class Leaderboard:
    """Ratings of every system one judge source compared, best first."""

    source: str
    source_id: str
    baseline: str | None
    rows: tuple[LeaderRow, ...]
    chart: str
    matrix: tuple[tuple[RateAgainst | None, ...], ...] = ()
    """Win rate of each row's system against each column's (systems in rating order)."""
    length_view: LengthView | None = None
    """Win rate against the length difference to the baseline, per system."""

    @property
    def has_length_control(self) -> bool:
        """True when at least one row has a length-controlled win rate."""
        return any(row.length_controlled for row in self.rows)

    @property
    def alpaca_lc_difficulty(self) -> str:
        """How the instruction difficulty of AlpacaEval's length control was obtained ("" if not shown)."""
        found = [row.alpaca_lc.difficulty for row in self.rows if row.alpaca_lc and row.alpaca_lc.n]
        return "; ".join(dict.fromkeys(found))


def build_leaderboards(
    verdicts: Sequence[Verdict],
    tables: PairwiseTables,
    index: ReportIndex,
    settings: StatSettings,
    *,
    charts: bool = True,
    responses: Sequence[Response] = (),
) -> tuple[Leaderboard, ...]:
    """A Bradley–Terry leaderboard for each judge source that compared at least three systems.

    Against a common baseline, rows also carry AlpacaEval's length-controlled win rate
    (computed when ``responses`` are given, for their lengths).
    """
    boards = []
    for source in index.sources:
        own = [verdict for verdict in verdicts if verdict.source == source]
        if len({name for v in own for name in (v.model_a, v.model_b)}) < MIN_SYSTEMS:
            continue
        ratings = sorted(
            bradley_terry(own, n_boot=settings.n_boot, confidence=settings.confidence, seed=settings.seed),
            key=lambda r: r.rank,
        )
        baseline = common_opponent(own)
        controlled = _alpaca_lc(own, baseline, responses, settings)
        rows = tuple(_row(rating, baseline, source, tables, controlled) for rating in ratings)
        chart = _chart(ratings, f"bt-{index.source_id(source)}") if charts else ""
        matrix = win_rate_matrix([r.system for r in ratings], source, tables)
        curve = _length_chart(own, baseline, responses, f"len-{index.source_id(source)}") if charts else None
        boards.append(Leaderboard(source, index.source_id(source), baseline, rows, chart, matrix, curve))
    return tuple(boards)


def win_rate_matrix(
    systems: Sequence[str], source: str, tables: PairwiseTables
) -> tuple[tuple[RateAgainst | None, ...], ...]:
    """Row system's win rate against column system (None on the diagonal and where never compared)."""
    raw = {key[:3]: rate for key, rate in tables.rates.items() if key[3] == "all"}
    return tuple(tuple(None if a == b else _against(raw, a, b, source) for b in systems) for a in systems)


LENGTH_BINS = 5


def length_curve(
    verdicts: Sequence[Verdict], baseline: str, responses: Sequence[Response]
) -> list[tuple[str, list[float], list[float]]]:
    """Per system: median length difference and win rate in each quantile bin of the difference."""
    lengths = response_lengths(responses)
    by_system: dict[str, list[tuple[int, float]]] = {}
    for v in verdicts:
        pair = verdict_lengths(v, lengths) if v.outcome is not None and v.model_b == baseline else None
        if pair and v.model_a != baseline:
            by_system.setdefault(v.model_a, []).append((pair[0] - pair[1], verdict_score(v)))
    series = []
    for system, points in by_system.items():
        ordered = sorted(points)
        bins = [chunk for chunk in np.array_split(np.arange(len(ordered)), LENGTH_BINS) if chunk.size]
        xs = [float(np.median([ordered[i][0] for i in chunk])) for chunk in bins]
        ys = [float(np.mean([ordered[i][1] for i in chunk])) for chunk in bins]
        series.append((system, xs, ys))
    return series


def _length_chart(
    verdicts: Sequence[Verdict], baseline: str | None, responses: Sequence[Response], chart_id: str
) -> LengthView | None:
    series = length_curve(verdicts, baseline, responses) if baseline and responses else []
    return LengthView(length_curve_svg(chart_id, series)) if series else None


def common_opponent(verdicts: Sequence[Verdict]) -> str | None:
    """The system that every comparison includes (AlpacaEval's reference model), if there is one."""
    pairs = {(v.model_a, v.model_b) for v in verdicts}
    counts = Counter(name for pair in pairs for name in set(pair))
    everywhere = [name for name, count in counts.most_common() if count == len(pairs)]
    return everywhere[0] if len(everywhere) == 1 else None


def _alpaca_lc(
    own: Sequence[Verdict], baseline: str | None, responses: Sequence[Response], settings: StatSettings
) -> dict[str, LengthControlled]:
    """AlpacaEval's length-controlled rate of each system judged as model_a against the baseline."""
    against = [v for v in own if v.model_b == baseline and v.model_a != baseline]
    if baseline is None or not responses or not against:
        return {}
    found = alpaca_eval_length_controlled(against, responses, seed=settings.seed)
    return {lc.model: lc for lc in found}


def _row(
    rating: Rating,
    baseline: str | None,
    source: str,
    tables: PairwiseTables,
    controlled: dict[str, LengthControlled],
) -> LeaderRow:
    if baseline is None or rating.system == baseline:
        return LeaderRow(rating, None, None)
    raw = {key[:3]: rate for key, rate in tables.rates.items() if key[3] == "all"}
    return LeaderRow(
        rating,
        _against(raw, rating.system, baseline, source),
        _against(tables.length_controlled, rating.system, baseline, source),
        controlled.get(rating.system),
    )


def _against(
    rates: dict[tuple[str, str, str], WinRate], system: str, baseline: str, source: str
) -> RateAgainst | None:
    direct = rates.get((system, baseline, source))
    if direct:
        return RateAgainst(direct.win_rate, direct.ci_low, direct.ci_high, direct.n)
    reverse = rates.get((baseline, system, source))
    if reverse:
        return RateAgainst(1 - reverse.win_rate, 1 - reverse.ci_high, 1 - reverse.ci_low, reverse.n)
    return None


def _chart(ratings: Sequence[Rating], chart_id: str) -> str:
    return forest_svg(
        chart_id,
        [rating.system for rating in ratings],
        [rating.score for rating in ratings],
        [(rating.ci_low, rating.ci_high) for rating in ratings],
    )
