"""Ablation section: each score against each attribute that varies across the systems (LIMA's ablations)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evalkit.analysis.ablation import run_ablations
from evalkit.report.charts import TrendLine, intervals_svg, trend_svg
from evalkit.report.pairwise_view import StatSettings
from evalkit.runner.meta import RunRecords
from evalkit.stats.ablation import Ablation, CategoryMean, Trend
from evalkit.stats.pairwise import Verdict


@dataclass(frozen=True, slots=True)
class TrendView:
    """A trend and its chart."""

    trend: Trend
    chart: str


@dataclass(frozen=True, slots=True)
class CategoryView:
    """The means per value of one categorical attribute, and their chart."""

    attribute: str
    groups: tuple[CategoryMean, ...]
    chart: str


@dataclass(frozen=True, slots=True)
class AblationBlock:
    """One score's ablation with its charts (one per trend, one per categorical attribute)."""

    ablation: Ablation
    trends: tuple[TrendView, ...]
    categories: tuple[CategoryView, ...]

    @property
    def uninformative(self) -> bool:
        """Every system got the same score on every prompt: the score cannot tell them apart.

        A judge that gives every answer one grade (a small local judge often does) makes
        every trend exactly flat with a zero-width interval; that is not evidence of no effect.
        """
        scores = {p.score for p in self.ablation.points}
        return len(scores) == 1 and all(p.ci[0] == p.ci[1] for p in self.ablation.points)


def build_ablations(
    records: RunRecords, verdicts: Sequence[Verdict], settings: StatSettings, *, charts: bool = True
) -> tuple[AblationBlock, ...]:
    """One block per available score; none when no attribute varies."""
    found = run_ablations(records, verdicts, n_boot=settings.n_boot, seed=settings.seed)
    return tuple(_block(number, a, charts) for number, a in enumerate(found))


def _block(number: int, ablation: Ablation, charts: bool) -> AblationBlock:
    points = {p.system: p for p in ablation.points}
    trend_charts: list[TrendView] = []
    for index, trend in enumerate(ablation.trends):
        shown = [
            (s, x, points[s].score, points[s].ci) for s, x in zip(trend.systems, trend.values, strict=True)
        ]
        line = TrendLine(trend.grid, trend.fitted, trend.band)
        label = trend.attribute + (f" ({trend.condition})" if trend.condition else "")
        axis = (label + (", log scale" if trend.log_axis else ""), ablation.score)
        chart = trend_svg(f"abl-{number}-t{index}", axis, shown, line, log_x=trend.log_axis) if charts else ""
        trend_charts.append(TrendView(trend, chart))
    category_charts: list[CategoryView] = []
    for index, name in enumerate(dict.fromkeys(c.attribute for c in ablation.categories)):
        groups = tuple(c for c in ablation.categories if c.attribute == name)
        labels = [f"{name} = {g.value}" for g in groups]
        chart = (
            intervals_svg(f"abl-{number}-c{index}", labels, [g.score for g in groups], [g.ci for g in groups],
                          ablation.score)
            if charts else ""
        )  # fmt: skip
        category_charts.append(CategoryView(name, groups, chart))
    return AblationBlock(ablation, tuple(trend_charts), tuple(category_charts))
