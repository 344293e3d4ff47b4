"""Time the statistics layer's bootstraps against naive baselines measured in the same run.

Synthetic data: ``--systems`` systems with evenly spread strengths, every pair judged on each
of ``--prompts`` prompts (45,000 verdicts for 10 systems x 1000 prompts), 10% ties.

* Bradley–Terry: ``bradley_terry(n_boot=1000)`` (all replicates refitted together by batched
  Newton steps, warm-started at the point estimate) against a per-replicate loop that
  resamples prompts, gathers their verdicts and fits with scipy's L-BFGS-B from zero using
  the analytic gradient. The baseline runs ``--naive-reps`` replicates and is extrapolated
  linearly to ``--boot``; pass ``--naive-reps 1000`` to time it in full.
* Win rates: ``win_rates(n_boot=2000)`` over all comparisons against a per-replicate Python
  loop of numpy resampling for each comparison.

Usage: python benchmarks/bench_stats.py [--systems 10] [--prompts 1000] [--boot 1000]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import minimize

from evalkit.records import Outcome
from evalkit.stats import Verdict, bradley_terry, win_rates
from evalkit.stats.leaderboard import BT_RIDGE


def synthetic_verdicts(n_systems: int, n_prompts: int, seed: int = 0) -> list[Verdict]:
    rng = np.random.default_rng(seed)
    strengths = np.linspace(-1.5, 1.5, n_systems)
    pairs = [(i, j) for i in range(n_systems) for j in range(i + 1, n_systems)]
    first = np.array([i for i, _ in pairs])
    second = np.array([j for _, j in pairs])
    p_first = 1.0 / (1.0 + np.exp(strengths[second] - strengths[first]))
    out = []
    for p in range(n_prompts):
        draws = rng.random(len(pairs))
        ties = rng.random(len(pairs)) < 0.1
        for k, (i, j) in enumerate(pairs):
            outcome: Outcome = "tie" if ties[k] else ("a" if draws[k] < p_first[k] else "b")
            out.append(Verdict(f"p{p}", f"sys{i}", f"sys{j}", "llm:bench", 0, outcome, 2, False, False, None))
    return out


def best_of(repeats: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best, result = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def naive_bt_bootstrap(verdicts: list[Verdict], n_reps: int, seed: int) -> np.ndarray:
    """Per-replicate fits: resample prompts, gather verdict rows, L-BFGS-B from zero."""
    systems = sorted({name for v in verdicts for name in (v.model_a, v.model_b)})
    position = {name: k for k, name in enumerate(systems)}
    score = {"a": 1.0, "tie": 0.5, "b": 0.0}
    rows_of: dict[str, list[int]] = {}
    for row, v in enumerate(verdicts):
        rows_of.setdefault(v.prompt_id, []).append(row)
    prompt_rows = list(rows_of.values())
    first = np.array([position[v.model_a] for v in verdicts])
    second = np.array([position[v.model_b] for v in verdicts])
    y = np.array([score[v.outcome or "tie"] for v in verdicts])
    rng = np.random.default_rng(seed)
    fits = []
    for _ in range(n_reps):
        picked = rng.integers(0, len(prompt_rows), size=len(prompt_rows))
        rows = np.concatenate([prompt_rows[p] for p in picked])
        fits.append(_fit_rows(first[rows], second[rows], y[rows], len(systems)))
    return np.array(fits)


def _fit_rows(first: np.ndarray, second: np.ndarray, y: np.ndarray, n_systems: int) -> np.ndarray:
    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        eta = theta[first] - theta[second]
        prob = 1.0 / (1.0 + np.exp(-eta))
        value = -(y * eta - np.logaddexp(0.0, eta)).sum() + 0.5 * BT_RIDGE * (theta**2).sum()
        residual = y - prob
        grad = -(np.bincount(first, residual, n_systems) - np.bincount(second, residual, n_systems))
        return float(value), grad + BT_RIDGE * theta

    return np.asarray(minimize(objective, np.zeros(n_systems), jac=True, method="L-BFGS-B").x)


def naive_win_rates(verdicts: list[Verdict], n_boot: int, seed: int) -> list[tuple[float, float]]:
    """One comparison at a time, one replicate at a time."""
    by_pair: dict[tuple[str, str], dict[str, list[float]]] = {}
    score = {"a": 1.0, "tie": 0.5, "b": 0.0}
    for v in verdicts:
        by_pair.setdefault((v.model_a, v.model_b), {}).setdefault(v.prompt_id, []).append(
            score[v.outcome or "tie"]
        )
    intervals = []
    for prompts in by_pair.values():
        sums = np.array([sum(s) for s in prompts.values()])
        counts = np.array([len(s) for s in prompts.values()], dtype=float)
        rng = np.random.default_rng(seed)
        reps = []
        for _ in range(n_boot):
            idx = rng.integers(0, len(sums), size=len(sums))
            reps.append(sums[idx].sum() / counts[idx].sum())
        low, high = np.quantile(reps, [0.025, 0.975])
        intervals.append((float(low), float(high)))
    return intervals


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--systems", type=int, default=10)
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--boot", type=int, default=1000)
    parser.add_argument("--naive-reps", type=int, default=50)
    parser.add_argument("--win-boot", type=int, default=2000)
    args = parser.parse_args()

    verdicts = synthetic_verdicts(args.systems, args.prompts)
    print(f"data: {args.systems} systems, {args.prompts} prompts, {len(verdicts)} verdicts")

    fast_s, ratings = best_of(3, lambda: bradley_terry(verdicts, n_boot=args.boot, seed=0))
    naive_s, naive_fits = best_of(1, lambda: naive_bt_bootstrap(verdicts, args.naive_reps, seed=0))
    naive_total = naive_s * args.boot / args.naive_reps
    how = "measured" if args.naive_reps == args.boot else "extrapolated"
    print(f"bradley_terry, {args.boot} replicates: {fast_s:.3f} s")
    print(
        f"naive per-replicate L-BFGS-B: {naive_s:.3f} s for {args.naive_reps} replicates "
        f"= {naive_s / args.naive_reps * 1e3:.1f} ms each, {naive_total:.1f} s for {args.boot} ({how})"
    )
    print(f"speed-up (naive / bradley_terry): {naive_total / fast_s:.0f}x")
    width = np.mean([r.ci_high - r.ci_low for r in ratings])
    naive_sd = (naive_fits * 400 / math.log(10)).std(axis=0).mean()
    print(
        f"sanity: mean 95% CI width {width:.1f} points (~3.92 sd); naive replicate sd {naive_sd:.1f} points"
    )

    fast_w, _ = best_of(3, lambda: win_rates(verdicts, {}, n_boot=args.win_boot, seed=0))
    naive_w, _ = best_of(1, lambda: naive_win_rates(verdicts, args.win_boot, seed=0))
    n_pairs = args.systems * (args.systems - 1) // 2
    print(f"win_rates, {n_pairs} comparisons x {args.win_boot} replicates: {fast_w:.3f} s")
    print(f"naive per-replicate loop: {naive_w:.3f} s; speed-up {naive_w / fast_w:.1f}x")


if __name__ == "__main__":
    main()
