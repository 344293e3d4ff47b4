"""Intervals for shares and rates that stay honest at small n.

A percentile bootstrap of a share collapses to a zero-width interval whenever every resampled
unit looks the same: three wins out of three, or two ties, give [100, 100] or [50, 50]. The
report's shares and win rates therefore use the Wilson score interval, which never collapses
for n >= 1, at an *effective* sample size that keeps what the cluster bootstrap knows:

    n_eff = p (1 - p) / v

where p is the observed rate and v the bootstrap variance of the rate (prompts resampled
whole). For independent win/loss verdicts v is about p (1 - p) / n, so n_eff is about n and
the interval is the textbook Wilson interval; repeated samples of one prompt inflate v and
shrink n_eff (the design effect); ties, which carry less variance than a win or a loss,
raise n_eff and narrow the interval. Where the bootstrap has nothing to say (v is 0, or p is
0 or 1), n_eff falls back to the number of prompts, i.e. the plain Wilson interval.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

from evalkit.stats.common import FloatArray, check_confidence, percentile_interval

_NEGLIGIBLE = 1e-12
"""Variances and spreads below this are rounding noise (replicates that are all equal)."""

SMALL_N = 10
"""Below this many units an interval is flagged in the report: it rests on very little data."""


def wilson_interval(rate: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``rate`` observed over ``n`` trials.

    ``n`` may be fractional (an effective sample size). The interval stays inside [0, 1] and has
    positive width for every n > 0, including rates of exactly 0 or 1.

    Args:
        rate: Observed proportion in [0, 1].
        n: Number of trials (> 0).
        confidence: Coverage, e.g. 0.95.

    Returns:
        (low, high); (nan, nan) when rate is nan or n is not positive.

    """
    check_confidence(confidence)
    if math.isnan(rate) or not n > 0:
        return (math.nan, math.nan)
    z = float(norm.ppf(0.5 + confidence / 2.0))
    z2_n = z * z / n
    centre = (rate + z2_n / 2.0) / (1.0 + z2_n)
    half = z / (1.0 + z2_n) * math.sqrt(rate * (1.0 - rate) / n + z2_n / (4.0 * n))
    low = 0.0 if rate <= 0.0 else max(0.0, centre - half)  # exact bounds where rounding would miss them
    high = 1.0 if rate >= 1.0 else min(1.0, centre + half)
    return (low, high)


def effective_n(rate: float, samples: FloatArray, clusters: int) -> float:
    """Sample size at which a binomial share would vary as much as the bootstrap ``samples`` do.

    Falls back to ``clusters`` where that is undefined (no finite replicates, zero variance,
    or a rate of 0 or 1): those are exactly the degenerate bootstraps.
    """
    finite = samples[~np.isnan(samples)]
    variance = float(np.var(finite, ddof=1)) if finite.size > 1 else 0.0
    spread = rate * (1.0 - rate)
    if variance <= _NEGLIGIBLE or spread <= _NEGLIGIBLE:
        return float(clusters)
    return spread / variance


def rate_interval(
    rate: float, samples: FloatArray, clusters: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Interval of a rate in [0, 1]: Wilson at the bootstrap's effective sample size (module doc).

    Args:
        rate: The observed rate (a share, or a win rate with ties counted half).
        samples: Its bootstrap replicates (prompts resampled whole); empty gives nan.
        clusters: Number of prompts behind the rate.
        confidence: Coverage.

    """
    if samples.size == 0 or clusters == 0:
        return (math.nan, math.nan)
    return wilson_interval(rate, effective_n(rate, samples, clusters), confidence)


def scaled_interval(
    value: float, samples: FloatArray, clusters: int, bounds: tuple[float, float], confidence: float = 0.95
) -> tuple[float, float]:
    """``rate_interval`` for a mean on a bounded scale (e.g. a Likert 1-6 mean score).

    The mean is mapped to [0, 1] by the scale's bounds, given the rate interval, and mapped
    back. Without a usable range (bounds equal or nan: every score seen on the scale is the
    same) it falls back to the bootstrap percentile interval.
    """
    low, high = bounds
    if math.isnan(value) or samples.size == 0:
        return (math.nan, math.nan)
    if not high > low:
        return percentile_interval(samples, confidence)
    width = high - low
    rate = min(1.0, max(0.0, (value - low) / width))
    unit_low, unit_high = rate_interval(rate, (samples - low) / width, clusters, confidence)
    return (low + width * unit_low, low + width * unit_high)


def difference_interval(
    x: tuple[float, FloatArray, int], y: tuple[float, FloatArray, int], confidence: float = 0.95
) -> tuple[float, float]:
    """Interval of rate_x - rate_y from each rate's own interval (Newcombe's hybrid score method).

    With (l_x, u_x) and (l_y, u_y) the two rates' intervals (``rate_interval``), the bounds are
    d - sqrt((p_x - l_x)^2 + (u_y - p_y)^2) and d + sqrt((u_x - p_x)^2 + (p_y - l_y)^2)
    (Newcombe 1998, method 10). It inherits the Wilson interval's behaviour at small n: two
    groups that each agree perfectly still get a difference interval of positive width.

    Args:
        x: (rate, bootstrap replicates, prompts) of the first group.
        y: The same for the second group.
        confidence: Coverage.

    """
    (rate_x, samples_x, clusters_x), (rate_y, samples_y, clusters_y) = x, y
    low_x, high_x = rate_interval(rate_x, samples_x, clusters_x, confidence)
    low_y, high_y = rate_interval(rate_y, samples_y, clusters_y, confidence)
    difference = rate_x - rate_y
    below = math.hypot(rate_x - low_x, high_y - rate_y)
    above = math.hypot(high_x - rate_x, rate_y - low_y)
    return (difference - below, difference + above)
