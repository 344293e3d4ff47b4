"""Charts for the report: matplotlib figures rendered to SVG text that is inlined into the page.

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot state, Agg-safe). Text is
kept as SVG ``<text>`` (matplotlib escapes it), and every id is prefixed with the chart id so
several charts can live in one HTML document.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from html import escape
from typing import Any

import matplotlib
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter
from matplotlib.typing import RcKeyType

WIN_TIE_LOSS_COLORS = ("#2563eb", "#cbd5e1", "#f97316")
"""Wins of the first-named system, ties, wins of the second-named system."""

_STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "text.parse_math": False,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 9.5,
    "axes.edgecolor": "#94a3b8",
    "axes.labelcolor": "#334155",
    "xtick.color": "#475569",
    "ytick.color": "#1e293b",
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_LABEL_LIMIT = 42
_MIN_SHARE_FOR_TEXT = 0.07


@dataclass(frozen=True, slots=True)
class Bar:
    """One stacked bar: a row label, one share per segment, and a note printed above it."""

    label: str
    shares: tuple[float, ...]
    note: str


@dataclass(frozen=True, slots=True)
class Panel:
    """One facet of a stacked-bar chart (e.g. all prompts, in-distribution, out-of-distribution)."""

    title: str
    bars: tuple[Bar, ...]


def ordinal_colors(count: int) -> tuple[str, ...]:
    """Red-to-green colours for an ordered grade scale of ``count`` labels (worst first)."""
    if count <= 1:
        return ("#16a34a",) * count
    cmap = colormaps["RdYlGn"]
    return tuple(to_hex(cmap(0.08 + 0.84 * index / (count - 1))) for index in range(count))


def stacked_bars_svg(
    chart_id: str, panels: Sequence[Panel], segments: Sequence[str], colors: Sequence[str]
) -> str:
    """Horizontal stacked share bars, one row per bar, facets side by side (LIMA Figures 1 and 3).

    Args:
        chart_id: Unique within the page; prefixes every SVG id.
        panels: Facets with the same bar labels in the same order.
        segments: Segment names, in stacking order (legend labels).
        colors: One colour per segment.

    Returns:
        An ``<svg>`` element as text, safe to inline.

    """
    rows = max((len(panel.bars) for panel in panels), default=0)
    with _style():
        fig = Figure(figsize=(1.6 + 3.0 * len(panels), 0.9 + 0.62 * max(rows, 1)))
        axes = fig.subplots(1, max(len(panels), 1), sharey=True, squeeze=False)[0]
        for index, (ax, panel) in enumerate(zip(axes, panels, strict=False)):
            _draw_panel(ax, panel, colors, first=index == 0)
        handles = [Patch(color=color) for color in colors]
        fig.legend(handles, list(segments), loc="upper center", ncol=len(segments), frameon=False)
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / fig.get_figheight()))
        return _render(fig, chart_id, "Stacked shares: " + ", ".join(segments))


def forest_svg(
    chart_id: str, labels: Sequence[str], points: Sequence[float], intervals: Sequence[tuple[float, float]]
) -> str:
    """A leaderboard plot: one point with its confidence interval per system, best on top."""
    with _style():
        fig = Figure(figsize=(7.5, 0.8 + 0.42 * max(len(labels), 1)))
        ax = fig.subplots()
        positions = list(range(len(labels)))[::-1]
        for pos, point, (low, high) in zip(positions, points, intervals, strict=True):
            ax.plot([low, high], [pos, pos], color="#64748b", linewidth=2, solid_capstyle="round")
            ax.plot([point], [pos], "o", color=WIN_TIE_LOSS_COLORS[0], markersize=7)
        ax.set_yticks(positions, [_short(label) for label in labels])
        ax.set_xlabel("Bradley–Terry score (Elo scale), 95% bootstrap CI")
        ax.grid(axis="x", color="#e2e8f0")
        ax.set_axisbelow(True)
        fig.tight_layout()
        return _render(fig, chart_id, "Leaderboard with confidence intervals")


def length_curve_svg(chart_id: str, series: Sequence[tuple[str, Sequence[float], Sequence[float]]]) -> str:
    """Win rate against length difference: one line per system, points at binned differences."""
    with _style():
        fig = Figure(figsize=(7.5, 3.6))
        ax = fig.subplots()
        for label, xs, ys in series:
            ax.plot(xs, ys, "o-", linewidth=1.5, markersize=4, label=_short(label))
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
        return _render(fig, chart_id, "Win rate against length difference")


def position_share_svg(
    chart_id: str,
    labels: Sequence[str],
    shares: Sequence[float],
    intervals: Sequence[tuple[float, float]],
    ylabel: str,
) -> str:
    """A share per ordered category (e.g. token positions) with its confidence interval."""
    with _style():
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
        return _render(fig, chart_id, ylabel + " with 95% intervals")


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
    with _style():
        fig = Figure(figsize=(6.4, 3.4))
        ax = fig.subplots()
        ax.fill_between(line.grid, [b[0] for b in line.band], [b[1] for b in line.band],
                        color=WIN_TIE_LOSS_COLORS[0], alpha=0.12, linewidth=0)  # fmt: skip
        ax.plot(line.grid, line.fitted, color=WIN_TIE_LOSS_COLORS[0], linewidth=1.2, linestyle="--")
        for label, x, score, (low, high) in points:
            ax.plot([x, x], [low, high], color="#64748b", linewidth=2, solid_capstyle="round")
            ax.plot([x], [score], "o", color=WIN_TIE_LOSS_COLORS[0], markersize=7)
            ax.annotate(_short(label), (x, score), textcoords="offset points", xytext=(6, 4), fontsize=7.5)
        if log_x:
            ax.set_xscale("log")
        ax.set_xlabel(axes_labels[0])
        ax.set_ylabel(axes_labels[1], fontsize=8.5)
        ax.grid(color="#e2e8f0")
        ax.set_axisbelow(True)
        fig.tight_layout()
        return _render(fig, chart_id, f"{axes_labels[1]} against {axes_labels[0]}, with 95% intervals")


def intervals_svg(
    chart_id: str, labels: Sequence[str], points: Sequence[float], intervals: Sequence[tuple[float, float]],
    xlabel: str,
) -> str:  # fmt: skip
    """One point with its interval per label, first label on top."""
    with _style():
        fig = Figure(figsize=(6.4, 0.8 + 0.42 * max(len(labels), 1)))
        ax = fig.subplots()
        positions = list(range(len(labels)))[::-1]
        for pos, point, (low, high) in zip(positions, points, intervals, strict=True):
            ax.plot([low, high], [pos, pos], color="#64748b", linewidth=2, solid_capstyle="round")
            ax.plot([point], [pos], "o", color=WIN_TIE_LOSS_COLORS[0], markersize=7)
        ax.set_yticks(positions, [_short(label) for label in labels])
        ax.set_xlabel(xlabel)
        ax.grid(axis="x", color="#e2e8f0")
        ax.set_axisbelow(True)
        fig.tight_layout()
        return _render(fig, chart_id, f"{xlabel}, with 95% intervals")


def _draw_panel(ax: Axes, panel: Panel, colors: Sequence[str], *, first: bool) -> None:
    positions = list(range(len(panel.bars)))[::-1]
    for pos, bar in zip(positions, panel.bars, strict=True):
        left = 0.0
        for share, color in zip(bar.shares, colors, strict=True):
            width = 0.0 if math.isnan(share) else share
            ax.barh(pos, width, left=left, height=0.5, color=color, edgecolor="white", linewidth=0.8)
            if width >= _MIN_SHARE_FOR_TEXT:
                ax.text(
                    left + width / 2,
                    pos,
                    f"{width:.0%}",
                    ha="center",
                    va="center",
                    fontsize=8.5,
                    color=_ink_on(color),
                )
            left += width
        ax.text(0.0, pos + 0.3, bar.note, ha="left", va="bottom", fontsize=8, color="#475569")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.5, len(panel.bars) - 0.25)
    ax.set_title(panel.title, fontsize=10.5, color="#0f172a", pad=6)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    if first:  # the y axis is shared: labelling a later panel would relabel the first
        ax.set_yticks(positions, [_short(bar.label) for bar in panel.bars])
    ax.tick_params(axis="y", length=0, labelleft=first)
    ax.spines["left"].set_visible(False)


def _ink_on(color: str) -> str:
    red, green, blue = to_rgb(color)
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return "#0f172a" if luminance > 0.55 else "#ffffff"


def _short(label: str) -> str:
    return label if len(label) <= _LABEL_LIMIT else label[: _LABEL_LIMIT - 1] + "…"


@contextmanager
def _style() -> Iterator[None]:
    with matplotlib.rc_context(_STYLE):
        yield


def _render(fig: Figure, chart_id: str, description: str) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": chart_id}):
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return clean_svg(buffer.getvalue(), chart_id, description)


def clean_svg(svg: str, chart_id: str, description: str) -> str:
    """Make matplotlib's SVG document inlinable in an HTML page.

    Drops the XML prolog, comments, metadata and the global style; prefixes every id with
    ``chart_id``; makes the size responsive; adds an accessible label.
    """
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.DOTALL)
    svg = re.sub(r"<metadata>.*?</metadata>|<style[^>]*>.*?</style>", "", svg, flags=re.DOTALL)
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{chart_id}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{chart_id}-\1)", svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{chart_id}-\1"', svg)
    label = escape(description, quote=True)
    svg = re.sub(
        r'<svg([^>]*?)\swidth="[^"]*"\sheight="[^"]*"',
        rf'<svg\1 class="chart" role="img" aria-label="{label}"',
        svg,
        count=1,
    )
    return re.sub(r"\n\s*\n", "\n", svg).strip()
