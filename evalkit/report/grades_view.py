"""Grades section: label distributions per system, scale, judge and split (LIMA Figure 3 style)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from evalkit.errors import EvalkitError
from evalkit.judging.loading import load_judge
from evalkit.judging.scoring import scale_label_orders
from evalkit.report.charts import Bar, ChartFigure, Panel, ordinal_colors, stacked_bars_svg
from evalkit.report.formatting import ci, num
from evalkit.report.groups import ALL, categories_of, group_name, splits_to_show
from evalkit.report.index import ReportIndex
from evalkit.report.pairwise_view import StatSettings
from evalkit.runner.meta import RunRecords
from evalkit.stats import GradeDistribution, grade_distributions
from evalkit.stats.common import GroupBy
from evalkit.stats.intervals import SMALL_N


@dataclass(frozen=True, slots=True)
class GradeBlock:
    """All distributions of one scale as graded by one source."""

    scale: str
    source: str
    key_id: str
    labels: tuple[str, ...]
    rows: tuple[GradeDistribution, ...]
    chart: str
    category_rows: tuple[GradeDistribution, ...] = ()
    category_charts: tuple[ChartFigure, ...] = ()

    @property
    def has_aspects(self) -> bool:
        """True for multi-aspect scales, whose rows carry per-aspect means."""
        return any(row.aspect_means for row in self.rows)


def compute_distributions(
    records: RunRecords, settings: StatSettings, *, by_category: bool = False
) -> list[GradeDistribution]:
    """Grade distributions over all prompts and, where splits exist, per split (or per category).

    Every label of each judge's scale is listed, in scale order, including labels no grade used.
    """
    if not records.grades or (by_category and len(categories_of(records.prompts)) < 2):
        return []
    prompts = {prompt.id: prompt for prompt in records.prompts}
    groupings: tuple[GroupBy, ...] = ("all", "split") if splits_to_show(records.prompts) else ("all",)
    found: list[GradeDistribution] = []
    for by in ("category",) if by_category else groupings:
        found += grade_distributions(
            records.grades,
            prompts,
            by=by,
            label_order=judge_scales(records),
            n_boot=settings.n_boot,
            confidence=settings.confidence,
            seed=settings.seed,
        )
    return found


def judge_scales(records: RunRecords) -> dict[str, tuple[str, ...]]:
    """Scale name -> every label of the grade judges the run used, in scale order.

    Judges that cannot be found any more (renamed, or loaded from a file elsewhere) are skipped:
    their scales then list the labels that occurred.
    """
    specs = []
    for judge in records.meta.judges:
        if judge.kind != "grade":
            continue
        try:
            specs.append(load_judge(judge.judge))
        except EvalkitError:
            continue
    return scale_label_orders(specs)


def build_grades(
    distributions: Sequence[GradeDistribution],
    records: RunRecords,
    index: ReportIndex,
    *,
    charts: bool = True,
    by_category: Sequence[GradeDistribution] = (),
) -> tuple[GradeBlock, ...]:
    """One block per (scale, source), rows ordered by system then group, with per-category rows."""
    groups = [ALL, *splits_to_show(records.prompts)]
    categories = categories_of(records.prompts)
    blocks = []
    for scale, source in index.grade_keys:
        rows = _rows_of(distributions, (scale, source), index.systems, groups)
        category_rows = _rows_of(by_category, (scale, source), index.systems, categories)
        labels = merged_labels(rows)
        key_id = index.grade_id(scale, source)
        chart = _chart(rows, labels, groups, f"grades-{key_id}") if charts and rows and labels else ""
        category_charts = (
            _category_charts(category_rows, labels, f"grades-{key_id}-cat")
            if charts and labels and len(categories) > 1
            else ()
        )
        blocks.append(GradeBlock(scale, source, key_id, labels, rows, chart, category_rows, category_charts))
    return tuple(blocks)


def _rows_of(
    distributions: Sequence[GradeDistribution],
    key: tuple[str, str],
    systems: Sequence[str],
    groups: Sequence[str],
) -> tuple[GradeDistribution, ...]:
    rows = [d for d in distributions if (d.scale, d.source) == key]
    rows.sort(key=lambda d: (_position(systems, d.system), _position(groups, d.group)))
    return tuple(rows)


def _category_charts(
    rows: Sequence[GradeDistribution], labels: tuple[str, ...], chart_id: str
) -> tuple[ChartFigure, ...]:
    """One chart per system: a bar per category, its note giving n and the mean with its interval."""
    systems = list(dict.fromkeys(row.system for row in rows))
    charts = []
    for number, system in enumerate(systems):
        bars = tuple(_bar(row.group, row, labels) for row in rows if row.system == system)
        panel = Panel(f"{system}, by category", bars)
        chart = stacked_bars_svg(f"{chart_id}-{number}", [panel], labels, ordinal_colors(len(labels)))
        charts.append(ChartFigure(system, chart))
    return tuple(charts)


def merged_labels(rows: Sequence[GradeDistribution]) -> tuple[str, ...]:
    """The scale's labels in order: the longest ordering seen, then any label it lacks."""
    longest = max((row.labels for row in rows), key=len, default=())
    extra = [label for row in rows for label in row.labels if label not in longest]
    return tuple(dict.fromkeys([*longest, *extra]))


def _position(order: Sequence[str], item: str) -> int:
    return order.index(item) if item in order else len(order)


def _chart(
    rows: Sequence[GradeDistribution], labels: tuple[str, ...], groups: Sequence[str], chart_id: str
) -> str:
    systems = list(dict.fromkeys(row.system for row in rows))
    panels = []
    for group in groups:
        by_system = {row.system: row for row in rows if row.group == group}
        bars = tuple(_bar(system, by_system.get(system), labels) for system in systems)
        panels.append(Panel(group_name(group), bars))
    return stacked_bars_svg(chart_id, panels, labels, ordinal_colors(len(labels)))


def _bar(system: str, row: GradeDistribution | None, labels: tuple[str, ...]) -> Bar:
    if row is None or row.n == 0:
        return Bar(system, (0.0,) * len(labels), "no grades")
    shares = tuple(0.0 if math.isnan(share := row.shares.get(label, 0.0)) else share for label in labels)
    mean = ""
    if row.mean_score is not None:
        interval = ci(*row.mean_ci, percent=False, digits=2) if row.mean_ci else ""
        mean = f" · mean {num(row.mean_score)} {interval}".rstrip()
    small = f" (n<{SMALL_N})" if row.n < SMALL_N else ""
    unparsed = f" · {row.unparsed} unparsed" if row.unparsed else ""
    return Bar(system, shares, f"n={row.n}{small}{mean}{unparsed}")
