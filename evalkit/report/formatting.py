"""Number formatting shared by chart notes and template filters (missing values print as a dash)."""

from __future__ import annotations

import math

DASH = "—"


def pct(value: float | None, digits: int = 1) -> str:
    """0.4525 -> "45.3%"."""
    if value is None or math.isnan(value):
        return DASH
    return f"{100 * value:.{digits}f}%"


def ci(low: float | None, high: float | None, *, percent: bool = True, digits: int = 1) -> str:
    """A confidence interval as "[40.1, 50.3]" (in percent by default); empty when unknown."""
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return ""
    scale = 100.0 if percent else 1.0
    return f"[{scale * low:.{digits}f}, {scale * high:.{digits}f}]"


def num(value: float | None, digits: int = 2) -> str:
    """A plain number; integers stay integers."""
    if value is None or math.isnan(value):
        return DASH
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def pvalue(value: float | None) -> str:
    """A p-value, with very small values shown as a bound."""
    if value is None or math.isnan(value):
        return DASH
    return "< 0.001" if value < 0.001 else f"{value:.3f}"
