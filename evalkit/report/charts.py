"""Charts for the report: matplotlib figures rendered to SVG text that is inlined into the page.

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot state, Agg-safe). Text is
kept as SVG ``<text>`` (matplotlib escapes it), and every id is prefixed with the chart id so
several charts can live in one HTML document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from evalkit.report.chart_bars import (
    Bar,
    ChartFigure,
    Panel,
    contrast_ratio,
    ordinal_colors,
    stacked_bars_svg,
)
from evalkit.report.chart_svg import WIN_TIE_LOSS_COLORS, chart_style, clean_svg, render, short

__all__ = [
    "WIN_TIE_LOSS_COLORS",
    "Bar",
    "ChartFigure",
    "Panel",
    "TrendLine",
    "clean_svg",
    "contrast_ratio",
    "forest_svg",
    "intervals_svg",
    "length_curve_svg",
    "ordinal_colors",
    "position_share_svg",
    "stacked_bars_svg",
    "trend_svg",
]


def forest_svg(
    chart_id: str, labels: Sequence[str], points: Sequence[float], intervals: Sequence[tuple[float, float]]
) -> str:
    """A leaderboard plot: one point with its confidence interval per system, best on top."""
    with chart_style():
        fig = Figure(figsize=(7.5, 0.8 + 0.42 * max(len(labels), 1)))
        ax = fig.subplots()
        positions = list(range(len(labels)))[::-1]
        for pos, point, (low, high) in zip(positions, points, intervals, strict=True):
            ax.plot([low, high], [pos, pos], color="#64748b", linewidth=2, solid_capstyle="round")
            ax.plot([point], [pos], "o", color=WIN_TIE_LOSS_COLORS[0], markersize=7)
        ax.set_yticks(positions, [short(label) for label in labels])
        ax.set_xlabel("Bradley–Terry score (Elo scale), 95% bootstrap CI")
        ax.grid(axis="x", color="#e2e8f0")
        ax.set_axisbelow(True)
        fig.tight_layout()
        return render(fig, chart_id, "Leaderboard with confidence intervals")


def length_curve_svg(chart_id: str, series: Sequence[tuple[str, Sequence[float], Sequence[float]]]) -> str:
    """Win rate against length difference: one line per system, points at binned differences."""
    with chart_style():
        fig = Figure(figsize=(7.5, 3.6))
        ax = fig.subplots()
        for label, xs, ys in series:
            ax.plot(xs, ys, "o-", linewidth=1.5, markersize=4, label=short(label))
        ax.axhline(0.5, color="#94a3b8", linewidth=1, linestyle="--")
        ax.axvline(0.0, color="#cbd5e1", linewidth=1)
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xlabel("Length difference against the baseline (characters, bin medians)")
        ax.set_ylabel("Win rate")
        ax.grid(color="#e2e8f0")
        ax.set_axisbelow(True)
        ax.legend(fontsize=8, frameon=False)
        fig.tight_layout()
        return render(fig, chart_id, "Win rate against length difference")


def position_share_svg(
    chart_id: str,
    labels: Sequence[str],
    shares: Sequence[float],
    intervals: Sequence[tuple[float, float]],
    ylabel: str,
) -> str:
    """A share per ordered category (e.g. token positions) with its confidence interval."""
    with chart_style():
        fig = Figure(figsize=(7.5, 2.8))
        ax = fig.subplots()
        positions = list(range(len(labels)))
        for pos, (low, high) in zip(positions, intervals, strict=True):
            ax.plot([pos, pos], [low, high], color="#64748b", linewidth=2, solid_capstyle="round")
        ax.plot(positions, shares, "o-", color=WIN_TIE_LOSS_COLORS[2], markersize=6, linewidth=1.2)
        ax.set_xticks(positions, list(labels))
        ax.set_xlabel("token position in the answer")
        ax.set_ylabel(ylabel, fontsize=8.5)
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.grid(axis="y", color="#e2e8f0")
        ax.set_axisbelow(True)
        fig.tight_layout()
        return render(fig, chart_id, ylabel + " with 95% intervals")


@dataclass(frozen=True, slots=True)
class TrendLine:
    """A fitted line with its interval band, evaluated on a grid of x values."""

    grid: tuple[float, ...]
    fitted: tuple[float, ...]
    band: tuple[tuple[float, float], ...]


def trend_svg(
    chart_id: str,
    axes_labels: tuple[str, str],
    points: Sequence[tuple[str, float, float, tuple[float, float]]],
    line: TrendLine,
    *,
    log_x: bool,
) -> str:
    """Scores against a numeric attribute: (label, x, score, interval) points and a fitted line."""
    with chart_style():
        fig = Figure(figsize=(6.4, 3.4))
        ax = fig.subplots()
        ax.fill_between(line.grid, [b[0] for b in line.band], [b[1] for b in line.band],
                        color=WIN_TIE_LOSS_COLORS[0], alpha=0.12, linewidth=0)  # fmt: skip
        ax.plot(line.grid, line.fitted, color=WIN_TIE_LOSS_COLORS[0], linewidth=1.2, linestyle="--")
        for label, x, score, (low, high) in points:
            ax.plot([x, x], [low, high], color="#64748b", linewidth=2, solid_capstyle="round")
            ax.plot([x], [score], "o", color=WIN_TIE_LOSS_COLORS[0], markersize=7)
            ax.annotate(short(label), (x, score), textcoords="offset points", xytext=(6, 4), fontsize=7.5)
        if log_x:
            ax.set_xscale("log")
        ax.set_xlabel(axes_labels[0])
        ax.set_ylabel(axes_labels[1], fontsize=8.5)
        ax.grid(color="#e2e8f0")
        ax.set_axisbelow(True)
        fig.tight_layout()
        return render(fig, chart_id, f"{axes_labels[1]} against {axes_labels[0]}, with 95% intervals")


def intervals_svg(
    chart_id: str, labels: Sequence[str], points: Sequence[float], intervals: Sequence[tuple[float, float]],
    xlabel: str,
) -> str:  # fmt: skip
    """One point with its interval per label, first label on top."""
    with chart_style():
        fig = Figure(figsize=(6.4, 0.8 + 0.42 * max(len(labels), 1)))
        ax = fig.subplots()
        positions = list(range(len(labels)))[::-1]
        for pos, point, (low, high) in zip(positions, points, intervals, strict=True):
            ax.plot([low, high], [pos, pos], color="#64748b", linewidth=2, solid_capstyle="round")
            ax.plot([point], [pos], "o", color=WIN_TIE_LOSS_COLORS[0], markersize=7)
        ax.set_yticks(positions, [short(label) for label in labels])
        ax.set_xlabel(xlabel)
        ax.grid(axis="x", color="#e2e8f0")
        ax.set_axisbelow(True)
        fig.tight_layout()
        return render(fig, chart_id, f"{xlabel}, with 95% intervals")
