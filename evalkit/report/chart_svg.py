"""Shared plumbing of the report's charts: the matplotlib style and SVG output fit for inlining."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from html import escape
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.typing import RcKeyType

WIN_TIE_LOSS_COLORS = ("#2563eb", "#cbd5e1", "#f97316")
"""Wins of the first-named system, ties, wins of the second-named system."""

INTERVAL_COLOR = "#0f172a"
"""Whiskers and points of intervals drawn over bars: dark enough to read over every segment colour."""

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


def short(label: str) -> str:
    """A label cut to fit a chart's margin (with an ellipsis)."""
    return label if len(label) <= _LABEL_LIMIT else label[: _LABEL_LIMIT - 1] + "…"


@contextmanager
def chart_style() -> Iterator[None]:
    """The report's matplotlib style, for the duration of one figure."""
    with matplotlib.rc_context(_STYLE):
        yield


def render(fig: Figure, chart_id: str, description: str) -> str:
    """The figure as inlinable SVG text (see ``clean_svg``)."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": chart_id}):
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return clean_svg(buffer.getvalue(), chart_id, description)


def clean_svg(svg: str, chart_id: str, description: str) -> str:
    """Make matplotlib's SVG document inlinable in an HTML page.

    Drops the XML prolog, comments, metadata and the global style; prefixes every id with
    ``chart_id``; draws the chart at the figure's own width, narrower only where the page is
    (so every chart prints its text at the same size, and a one-panel chart does not stretch
    across the page); adds an accessible label.
    """
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.DOTALL)
    svg = re.sub(r"<metadata>.*?</metadata>|<style[^>]*>.*?</style>", "", svg, flags=re.DOTALL)
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{chart_id}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{chart_id}-\1)", svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{chart_id}-\1"', svg)
    label = escape(description, quote=True)
    svg = re.sub(
        r'<svg([^>]*?)\swidth="([0-9.]+[a-z]*)"\sheight="[^"]*"',
        rf'<svg\1 class="chart" style="width:\2;max-width:100%" role="img" aria-label="{label}"',
        svg,
        count=1,
    )
    return re.sub(r"\n\s*\n", "\n", svg).strip()
