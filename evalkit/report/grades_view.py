"""Grades section: label distributions per system, scale, judge and split (LIMA Figure 3 style)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evalkit.report.charts import Bar, Panel, ordinal_colors, stacked_bars_svg
from evalkit.report.formatting import num
from evalkit.report.groups import ALL, group_name, splits_to_show
from evalkit.report.index import ReportIndex
from evalkit.report.pairwise_view import StatSettings
from evalkit.runner.meta import RunRecords
from evalkit.stats import GradeDistribution, grade_distributions


@dataclass(frozen=True, slots=True)
class GradeBlock:
    """All distributions of one scale as graded by one source."""

    scale: str
    source: str
    key_id: str
    labels: tuple[str, ...]
    rows: tuple[GradeDistribution, ...]
    chart: str

    @property
    def has_aspects(self) -> bool:
        """True for multi-aspect scales, whose rows carry per-aspect means."""
        return any(row.aspect_means for row in self.rows)


def compute_distributions(records: RunRecords, settings: StatSettings) -> list[GradeDistribution]:
    """Grade distributions over all prompts and, where splits exist, per split."""
    if not records.grades:
        return []
    prompts = {prompt.id: prompt for prompt in records.prompts}
    found: list[GradeDistribution] = []
    for by in ("all", "split") if splits_to_show(records.prompts) else ("all",):
        found += grade_distributions(
            records.grades,
            prompts,
            by=by,
            n_boot=settings.n_boot,
            confidence=settings.confidence,
            seed=settings.seed,
        )
    return found


def build_grades(
    distributions: Sequence[GradeDistribution],
    records: RunRecords,
    index: ReportIndex,
    *,
    charts: bool = True,
) -> tuple[GradeBlock, ...]:
    """One block per (scale, source), rows ordered by system then group."""
    groups = [ALL, *splits_to_show(records.prompts)]
    blocks = []
    for scale, source in index.grade_keys:
        rows = [d for d in distributions if (d.scale, d.source) == (scale, source)]
        rows.sort(key=lambda d: (_position(index.systems, d.system), _position(groups, d.group)))
        labels = merged_labels(rows)
        key_id = index.grade_id(scale, source)
        chart = _chart(rows, labels, groups, f"grades-{key_id}") if charts and rows and labels else ""
        blocks.append(GradeBlock(scale, source, key_id, labels, tuple(rows), chart))
    return tuple(blocks)


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
    shares = tuple(row.shares.get(label, 0.0) for label in labels)
    mean = f" · mean {num(row.mean_score)}" if row.mean_score is not None else ""
    return Bar(system, shares, f"n={row.n}{mean}" + (f" · {row.unparsed} unparsed" if row.unparsed else ""))
