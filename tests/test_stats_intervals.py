"""The interval method for shares and rates against closed forms."""

import math

import numpy as np
import pytest

from evalkit.stats.intervals import (
    difference_interval,
    effective_n,
    rate_interval,
    scaled_interval,
    wilson_interval,
)

Z95 = 1.959963984540054


def _wilson_closed_form(successes: int, n: int, z: float) -> tuple[float, float]:
    """Wilson (1927): roots of (p - x/n)^2 = z^2 p (1 - p) / n, solved for p."""
    a = 1 + z * z / n
    b = -(2 * successes / n + z * z / n)
    c = (successes / n) ** 2
    root = math.sqrt(b * b - 4 * a * c)
    return ((-b - root) / (2 * a), (-b + root) / (2 * a))


@pytest.mark.parametrize(("successes", "n"), [(0, 1), (1, 1), (1, 2), (3, 5), (7, 10), (40, 52), (0, 30)])
def test_wilson_matches_the_quadratic_roots(successes: int, n: int) -> None:
    assert wilson_interval(successes / n, n) == pytest.approx(
        _wilson_closed_form(successes, n, Z95), abs=1e-12
    )


def test_wilson_at_zero_and_one_has_the_known_bounds() -> None:
    assert wilson_interval(1.0, 5) == pytest.approx((5 / (5 + Z95**2), 1.0))
    assert wilson_interval(0.0, 5) == pytest.approx((0.0, Z95**2 / (5 + Z95**2)))


def test_wilson_other_confidence_uses_its_quantile() -> None:
    z90 = 1.6448536269514722
    assert wilson_interval(0.3, 20, 0.9) == pytest.approx(_wilson_closed_form(6, 20, z90), abs=1e-12)


def test_wilson_without_data_is_nan() -> None:
    assert all(math.isnan(v) for v in wilson_interval(0.5, 0))
    assert all(math.isnan(v) for v in wilson_interval(math.nan, 5))


def test_effective_n_of_binomial_replicates_is_about_n() -> None:
    rng = np.random.default_rng(0)
    samples = rng.binomial(400, 0.6, size=20_000) / 400
    assert effective_n(0.6, samples, 400) == pytest.approx(400, rel=0.05)


def test_effective_n_falls_back_to_clusters_when_the_bootstrap_is_degenerate() -> None:
    assert effective_n(0.5, np.full(100, 0.5), 3) == 3.0  # all ties: zero variance
    assert effective_n(1.0, np.ones(100), 4) == 4.0  # all wins


def test_rate_interval_of_a_degenerate_bootstrap_is_wilson_at_the_cluster_count() -> None:
    assert rate_interval(0.5, np.full(50, 0.5), 2) == pytest.approx(wilson_interval(0.5, 2))
    assert all(math.isnan(v) for v in rate_interval(0.5, np.empty(0), 2))


def test_scaled_interval_maps_a_likert_mean_through_its_range() -> None:
    low, high = scaled_interval(4.0, np.full(10, 4.0), 2, (1.0, 6.0))
    unit = wilson_interval(0.6, 2)
    assert (low, high) == pytest.approx((1 + 5 * unit[0], 1 + 5 * unit[1]))
    assert low < 4.0 < high
    assert scaled_interval(4.0, np.full(10, 4.0), 2, (4.0, 4.0)) == (4.0, 4.0)  # no range seen: percentile


def test_difference_interval_reproduces_newcombes_worked_example() -> None:
    # Newcombe (1998), 56/70 against 48/80, method 10: 0.0524 to 0.3339. Replicates without spread
    # make each rate's interval the plain Wilson one at its own n.
    x = (56 / 70, np.full(10, 56 / 70), 70)
    y = (48 / 80, np.full(10, 48 / 80), 80)
    low, high = difference_interval(x, y)
    assert (low, high) == pytest.approx((0.0524, 0.3339), abs=5e-5)
