"""Stacked share bars (LIMA Figures 1 and 3), with interval whiskers where a bar has one."""

from __future__ import annotations

import colorsys
import math
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from evalkit.report.chart_svg import INTERVAL_COLOR, chart_style, render, short

_MIN_SHARE_FOR_TEXT = 0.07
_MIN_CONTRAST = 3.0
"""WCAG's minimum for graphics against their background (white)."""
_PANEL_WIDTH = 3.0
_WHISKER_OFFSET = 0.16
"""Whiskers run just below a bar's middle, where the segment percentages do not print."""


@dataclass(frozen=True, slots=True)
class Bar:
    """One stacked bar: a row label, one share per segment and a note printed above it.

    ``point`` and ``interval`` (e.g. a win rate and its CI) are drawn as a whisker over the bar.
    """

    label: str
    shares: tuple[float, ...]
    note: str
    point: float | None = None
    interval: tuple[float, float] | None = None

    @property
    def has_whisker(self) -> bool:
        """True when the bar carries a finite point and interval."""
        values = (self.point, *(self.interval or (math.nan, math.nan)))
        return all(value is not None and not math.isnan(value) for value in values)


@dataclass(frozen=True, slots=True)
class Panel:
    """One facet of a stacked-bar chart (e.g. all prompts, in-distribution, out-of-distribution)."""

    title: str
    bars: tuple[Bar, ...]


@dataclass(frozen=True, slots=True)
class ChartFigure:
    """A rendered chart (SVG text) with the subject it shows, for templates that list several."""

    subject: str
    chart: str


def ordinal_colors(count: int) -> tuple[str, ...]:
    """Red-to-green colours for an ordered grade scale of ``count`` labels (worst first).

    Taken from the red-yellow-green scale, each darkened (same hue) until it stands at least
    3:1 against white: the pale middle of the scale ("pass") would otherwise fade into the page.
    """
    if count <= 1:
        return ("#15803d",) * count
    cmap = colormaps["RdYlGn"]
    return tuple(_legible(to_hex(cmap(0.05 + 0.9 * index / (count - 1)))) for index in range(count))


def _legible(color: str) -> str:
    hue, lightness, saturation = colorsys.rgb_to_hls(*to_rgb(color))
    while contrast_ratio(color) < _MIN_CONTRAST:
        lightness *= 0.96
        color = to_hex(colorsys.hls_to_rgb(hue, lightness, saturation))
    return color


def contrast_ratio(color: str, background: str = "#ffffff") -> float:
    """WCAG contrast ratio between two colours (1 to 21)."""
    lighter, darker = sorted((_luminance(color), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _luminance(color: str) -> float:
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgb(color)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def stacked_bars_svg(
    chart_id: str,
    panels: Sequence[Panel],
    segments: Sequence[str],
    colors: Sequence[str],
    interval_label: str = "",
) -> str:
    """Horizontal stacked share bars, one row per bar, facets side by side.

    Args:
        chart_id: Unique within the page; prefixes every SVG id (whiskers get
            "<chart_id>-whisker-<panel>-<row>").
        panels: Facets with the same bar labels in the same order.
        segments: Segment names, in stacking order (legend labels).
        colors: One colour per segment.
        interval_label: Legend text of the whiskers (e.g. "win rate, 95% CI").

    Returns:
        An ``<svg>`` element as text, safe to inline.

    """
    rows = max((len(panel.bars) for panel in panels), default=0)
    with chart_style():
        fig = Figure(figsize=(1.6 + _PANEL_WIDTH * max(len(panels), 1), 0.9 + 0.62 * max(rows, 1)))
        axes = fig.subplots(1, max(len(panels), 1), sharey=True, squeeze=False)[0]
        for index, (ax, panel) in enumerate(zip(axes, panels, strict=False)):
            _draw_panel(ax, panel, colors, index)
        handles: list[Patch | Line2D] = [Patch(color=color) for color in colors]
        names = list(segments)
        if interval_label and any(bar.has_whisker for panel in panels for bar in panel.bars):
            handles.append(Line2D([], [], color=INTERVAL_COLOR, marker="D", markersize=4, linewidth=1.4))
            names.append(interval_label)
        fig.legend(handles, names, loc="upper center", ncol=len(names), frameon=False, fontsize=8.5)
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / fig.get_figheight()))
        return render(fig, chart_id, "Stacked shares: " + ", ".join(segments))


def _draw_panel(ax: Axes, panel: Panel, colors: Sequence[str], panel_index: int) -> None:
    positions = list(range(len(panel.bars)))[::-1]
    whiskers = any(bar.has_whisker for bar in panel.bars)
    for row, (pos, bar) in enumerate(zip(positions, panel.bars, strict=True)):
        _draw_segments(ax, pos, bar, colors, text_at=pos + (0.07 if whiskers else 0.0))
        if bar.has_whisker:
            _draw_whisker(ax, pos - _WHISKER_OFFSET, bar, f"whisker-{panel_index}-{row}")
        ax.text(0.0, pos + 0.3, bar.note, ha="left", va="bottom", fontsize=8, color="#475569")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.5, len(panel.bars) - 0.25)
    ax.set_title(panel.title, fontsize=10.5, color="#0f172a", pad=6)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    first = panel_index == 0
    if first:  # the y axis is shared: labelling a later panel would relabel the first
        ax.set_yticks(positions, [short(bar.label) for bar in panel.bars])
    ax.tick_params(axis="y", length=0, labelleft=first)
    ax.spines["left"].set_visible(False)


def _draw_segments(ax: Axes, pos: float, bar: Bar, colors: Sequence[str], text_at: float) -> None:
    left = 0.0
    for share, color in zip(bar.shares, colors, strict=True):
        width = 0.0 if math.isnan(share) else share
        ax.barh(pos, width, left=left, height=0.5, color=color, edgecolor="white", linewidth=0.8)
        if width >= _MIN_SHARE_FOR_TEXT:
            ink = _ink_on(color)
            ax.text(
                left + width / 2, text_at, f"{width:.0%}", ha="center", va="center", fontsize=8.5, color=ink
            )
        left += width


def _draw_whisker(ax: Axes, pos: float, bar: Bar, gid: str) -> None:
    """The interval as a capped line with a diamond at the point, grouped under one SVG id."""
    low, high = bar.interval or (math.nan, math.nan)
    point = math.nan if bar.point is None else bar.point
    cap = 0.06
    style = {"color": INTERVAL_COLOR, "linewidth": 1.4, "zorder": 4, "solid_capstyle": "butt"}
    (line,) = ax.plot(
        [low, high, math.nan, low, low, math.nan, high, high],
        [pos, pos, math.nan, pos - cap, pos + cap, math.nan, pos - cap, pos + cap],
        **style,  # type: ignore[arg-type]
    )
    line.set_gid(gid)
    (marker,) = ax.plot(
        [point], [pos], "D", color=INTERVAL_COLOR, markersize=4, markeredgecolor="white", zorder=5
    )
    marker.set_gid(gid + "-point")


def _ink_on(color: str) -> str:
    """Dark or white text, whichever contrasts more with the segment's colour."""
    return max((INTERVAL_COLOR, "#ffffff"), key=lambda ink: contrast_ratio(ink, color))
