"""The scalable Bradley–Terry fit: same answer as the dense logistic fit, storage linear in verdicts."""

from __future__ import annotations

import numpy as np

from evalkit.stats import Verdict, bradley_terry
from evalkit.stats.bt_fit import PairTable, fit_pairs
from evalkit.stats.common import draw_counts
from evalkit.stats.logistic import fit_logistic


def arena_like(n_systems: int, n_battles: int, seed: int) -> list[Verdict]:
    """One verdict per prompt between two random systems, as in an arena."""
    rng = np.random.default_rng(seed)
    strength = rng.normal(0.0, 1.0, n_systems)
    first = rng.integers(0, n_systems, n_battles)
    second = (first + rng.integers(1, n_systems, n_battles)) % n_systems
    win = 1.0 / (1.0 + np.exp(strength[second] - strength[first]))
    draw = rng.random(n_battles)
    verdicts = []
    for k in range(n_battles):
        outcome = "tie" if abs(draw[k] - win[k]) < 0.05 else ("a" if draw[k] < win[k] else "b")
        verdicts.append(
            Verdict(f"p{k}", f"m{first[k]}", f"m{second[k]}", "llm:j", 0, outcome, 2, False, False, None)
        )
    return verdicts


def dense_design(table: PairTable) -> np.ndarray:
    design = np.zeros((table.low.size, len(table.systems)))
    design[np.arange(table.low.size), table.low] = 1.0
    design[np.arange(table.low.size), table.high] = -1.0
    return design


def test_fit_matches_the_dense_logistic_fit_on_bootstrap_replicates() -> None:
    table = PairTable.of(arena_like(12, 3000, seed=1))
    weights = draw_counts(
        np.random.default_rng(2).integers(0, table.n_prompts, (5, table.n_prompts)), table.n_prompts
    )
    successes, trials = table.totals(weights)
    ours = fit_pairs(table, successes, trials, 1e-3)
    dense = fit_logistic(dense_design(table), successes, trials, np.full(12, 1e-3))
    assert np.abs(ours - dense).max() < 1e-8


def test_storage_grows_with_verdicts_not_prompts_times_pairs() -> None:
    verdicts = arena_like(200, 20_000, seed=3)
    table = PairTable.of(verdicts)
    assert table.n_prompts == 20_000 and table.low.size > 10_000  # a dense table would hold 2e8 cells
    assert table.trials.nnz == 20_000 and table.trials.sum() == 20_000
    ratings = bradley_terry(verdicts, n_boot=10)
    assert len(ratings) == 200 and all(r.ci_low < r.ci_high for r in ratings)


def test_point_totals_equal_the_verdicts() -> None:
    verdicts = [
        Verdict("p1", "x", "y", "s", 0, "a", 2, False, False, None),
        Verdict("p1", "y", "x", "s", 0, "tie", 2, False, False, None),
        Verdict("p2", "y", "x", "s", 0, "a", 2, False, False, None),
    ]
    successes, trials = PairTable.of(verdicts).totals()
    assert successes.tolist() == [[1.5]] and trials.tolist() == [[3.0]]
