"""Pairwise section: win/tie/loss per comparison and judge, by split and category, with split gaps."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from evalkit.report.charts import WIN_TIE_LOSS_COLORS, Bar, ChartFigure, Panel, stacked_bars_svg
from evalkit.report.formatting import ci, pct
from evalkit.report.groups import ALL, group_name, has_both_splits, splits_to_show
from evalkit.report.index import ReportIndex
from evalkit.runner.meta import RunRecords
from evalkit.stats import SplitGap, Verdict, WinRate, length_controlled_win_rate, split_gap, win_rates
from evalkit.stats.intervals import SMALL_N

RateKey = tuple[str, str, str, str]
"""(model_a, model_b, source, group key): see ``group_key``."""
GroupBy = Literal["all", "split", "category"]


@dataclass(frozen=True, slots=True)
class StatSettings:
    """Bootstrap settings passed to every statistic of one report."""

    seed: int = 0
    n_boot: int = 2000
    confidence: float = 0.95

    @property
    def ci_label(self) -> str:
        """Column heading of the intervals, e.g. "95% CI"."""
        return f"{self.confidence * 100:g}% CI"


@dataclass(frozen=True, slots=True)
class ComparisonView:
    """One comparison (model_a vs model_b) as seen by one judge source."""

    id: str
    source_id: str
    model_a: str
    model_b: str
    source: str
    groups: tuple[WinRate, ...]
    categories: tuple[WinRate, ...]
    gap: SplitGap | None
    length_controlled: WinRate | None
    category_chart: ChartFigure | None = None

    @property
    def overall(self) -> WinRate | None:
        """The win rate over all prompts."""
        return next((rate for rate in self.groups if rate.group == ALL), None)


@dataclass(frozen=True, slots=True)
class JudgeComparisons:
    """All comparisons judged by one source, with their win/tie/loss chart."""

    source: str
    source_id: str
    comparisons: tuple[ComparisonView, ...]
    chart: str

    @property
    def has_expected(self) -> bool:
        """True when some win rate is also available weighted by the judge's verdict probabilities."""
        return any(not math.isnan(r.expected_win_rate) for v in self.comparisons for r in v.groups)


@dataclass(frozen=True, slots=True)
class PairwiseTables:
    """Raw statistics results, keyed for lookup (kept so tests can compare with evalkit.stats)."""

    rates: dict[RateKey, WinRate]
    gaps: dict[tuple[str, str, str], SplitGap]
    length_controlled: dict[tuple[str, str, str], WinRate]


def compute_tables(
    verdicts: Sequence[Verdict], records: RunRecords, settings: StatSettings
) -> PairwiseTables:
    """Run the pairwise statistics once for every grouping the report shows."""
    prompts = {prompt.id: prompt for prompt in records.prompts}
    seed, n_boot, confidence = settings.seed, settings.n_boot, settings.confidence
    groupings: list[GroupBy] = ["all", "category"]
    if splits_to_show(records.prompts):
        groupings.insert(1, "split")
    rates = {
        (r.model_a, r.model_b, r.source, group_key(by, r.group)): r
        for by in groupings
        for r in win_rates(verdicts, prompts, by=by, n_boot=n_boot, confidence=confidence, seed=seed)
    }
    gaps = (
        split_gap(verdicts, prompts, n_boot=n_boot, confidence=confidence, seed=seed)
        if has_both_splits(records.prompts)
        else []
    )
    controlled = (
        length_controlled_win_rate(
            verdicts, records.responses, n_boot=n_boot, confidence=confidence, seed=seed
        )
        if verdicts
        else []
    )
    return PairwiseTables(
        rates=rates,
        gaps={(g.model_a, g.model_b, g.source): g for g in gaps},
        length_controlled={(r.model_a, r.model_b, r.source): r for r in controlled},
    )


def group_key(by: GroupBy, group: str) -> str:
    """Lookup key of a group: split and category labels may coincide, so they are kept apart."""
    return group if by == "all" else f"{by}:{group}"


def build_pairwise(
    tables: PairwiseTables, records: RunRecords, index: ReportIndex, *, charts: bool = True
) -> tuple[JudgeComparisons, ...]:
    """One block per judge source, each with every comparison that source judged."""
    splits = splits_to_show(records.prompts)
    categories = sorted({prompt.category for prompt in records.prompts})
    blocks = []
    for source in index.sources:
        views = tuple(
            _comparison(tables, index, pair, source, splits, categories)
            for pair in index.comparisons
            if (*pair, source, ALL) in tables.rates
        )
        chart_id = f"wtl-{index.source_id(source)}"
        chart = _chart(views, splits, chart_id) if charts and views else ""
        if charts and len(categories) > 1:
            views = tuple(_with_category_chart(view, f"{chart_id}-{view.id}-cat") for view in views)
        blocks.append(JudgeComparisons(source, index.source_id(source), views, chart))
    return tuple(blocks)


def _comparison(
    tables: PairwiseTables,
    index: ReportIndex,
    pair: tuple[str, str],
    source: str,
    splits: Sequence[str],
    categories: Sequence[str],
) -> ComparisonView:
    rates = tables.rates
    keys = [(*pair, source, ALL)] + [(*pair, source, "split:" + s) for s in splits]
    cat_keys = [(*pair, source, "category:" + c) for c in categories]
    return ComparisonView(
        id=index.comparison_id(*pair),
        source_id=index.source_id(source),
        model_a=pair[0],
        model_b=pair[1],
        source=source,
        groups=tuple(rates[key] for key in keys if key in rates),
        categories=tuple(rates[key] for key in cat_keys if key in rates),
        gap=tables.gaps.get((*pair, source)),
        length_controlled=tables.length_controlled.get((*pair, source)),
    )


def rate_note(rate: WinRate) -> str:
    """The text printed above a bar: win rate, its interval and the sample size (small n flagged)."""
    if rate.n == 0:
        return f"no resolved verdicts ({rate.unresolved} unresolved)"
    small = f" (n<{SMALL_N})" if rate.n < SMALL_N else ""
    return f"win rate {pct(rate.win_rate)} {ci(rate.ci_low, rate.ci_high)} · n={rate.n}{small}"


def _chart(views: Sequence[ComparisonView], splits: Sequence[str], chart_id: str) -> str:
    panels = []
    for group in [ALL, *splits]:
        bars = []
        for view in views:
            rate = next((r for r in view.groups if r.group == group), None)
            bars.append(rate_bar(f"{view.model_a} vs {view.model_b}", rate))
        panels.append(Panel(group_name(group), tuple(bars)))
    segments = _segment_names(views)
    return stacked_bars_svg(chart_id, panels, segments, WIN_TIE_LOSS_COLORS, WHISKER_LABEL)


WHISKER_LABEL = "win rate and its CI"


def rate_bar(label: str, rate: WinRate | None) -> Bar:
    """A win/tie/loss bar with the win rate and its interval as a whisker."""
    if rate is None or not rate.n:
        return Bar(label, (0.0,) * 3, rate_note(rate) if rate else "no verdicts")
    shares = (rate.win_share, rate.tie_share, rate.loss_share)
    return Bar(label, shares, rate_note(rate), rate.win_rate, (rate.ci_low, rate.ci_high))


def _with_category_chart(view: ComparisonView, chart_id: str) -> ComparisonView:
    """The comparison with one bar per category (same whiskers as the main chart)."""
    if not view.categories:
        return view
    panel = Panel(
        f"{view.model_a} vs {view.model_b}, by category", tuple(rate_bar(r.group, r) for r in view.categories)
    )
    chart = stacked_bars_svg(chart_id, [panel], _segment_names([view]), WIN_TIE_LOSS_COLORS, WHISKER_LABEL)
    return replace(view, category_chart=ChartFigure(f"{view.model_a} vs {view.model_b}", chart))


def _segment_names(views: Sequence[ComparisonView]) -> list[str]:
    if len(views) == 1:
        return [f"{views[0].model_a} wins", "tie", f"{views[0].model_b} wins"]
    return ["first-named system wins", "tie", "second-named system wins"]
