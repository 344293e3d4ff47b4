"""Bradley–Terry at scale: evalkit against arena-rank on identical synthetic battles.

Run it where ``arena-rank`` is installed (not an evalkit dependency: ``pip install
arena-rank``); without it the comparison columns are skipped with a note.

1. Shapes (systems x battles; battles per prompt): each fit runs in its own process so its peak
   resident memory (``ru_maxrss``) is its own. evalkit: ``bradley_terry`` with a 200-replicate
   prompt bootstrap; arena-rank: ``BradleyTerry`` with its closed-form (sandwich) intervals,
   timed on a second fit so JAX compilation is not counted. Printed: time, peak RSS (and the
   growth during the fit), the ratios evalkit / arena-rank, and the largest rating difference
   in points after aligning the means.
2. Interval width against the true width: ``--sims`` data sets are simulated from the same
   strengths; the true width of each system's 95% interval is 2 x 1.96 x the standard
   deviation of its estimate across data sets; each method's mean reported width is divided by
   it (1.0 is right; below 1 too narrow). Once with every pair judged on each prompt and a
   per-prompt random effect (clustered), once with one battle per prompt (arena-like).

Usage: python benchmarks/bench_bt_scale.py [--shapes 20x100000x1,...] [--sims 25] [--boot 200]
"""

from __future__ import annotations

import os

# one BLAS thread: on a shared machine threaded BLAS makes small matrix products far slower
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("JAX_ENABLE_X64", "1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import argparse
import importlib.util
import json
import math
import resource
import subprocess
import sys
import time
from itertools import combinations
from typing import Any

import numpy as np

POINTS = 400 / math.log(10)
SHAPES = "20x100000x1,10x45000x45,80x100000x1,200x150000x1"
"""systems x battles x battles per prompt: arena-like, and 10 systems x 1,000 prompts x all 45 pairs."""
OUTCOMES = ("a", "b", "tie")


def simulate(n_systems: int, n_battles: int, per_prompt: int, seed: int, prompt_sd: float) -> dict[str, Any]:
    """Battles from fixed strengths (seed 0) with per-prompt, per-system random effects."""
    strength = np.random.default_rng(0).normal(0.0, 1.0, n_systems)
    rng = np.random.default_rng(seed)
    n_prompts = n_battles // per_prompt
    prompt = np.repeat(np.arange(n_prompts), per_prompt)
    if per_prompt > 1:
        pairs = np.array(list(combinations(range(n_systems), 2)))
        first, second = np.tile(pairs[:, 0], n_prompts), np.tile(pairs[:, 1], n_prompts)
    else:
        first = rng.integers(0, n_systems, n_battles)
        second = (first + rng.integers(1, n_systems, n_battles)) % n_systems
    effect = rng.normal(0.0, prompt_sd, (n_prompts, n_systems)) if prompt_sd else np.zeros((1, n_systems))
    row = prompt if prompt_sd else np.zeros_like(prompt)
    gap = strength[first] + effect[row, first] - strength[second] - effect[row, second]
    win = 1.0 / (1.0 + np.exp(-gap))
    draw = rng.random(first.size)
    outcome = np.where(np.abs(draw - win) < 0.05, 2, np.where(draw < win, 0, 1))
    return {"prompt": prompt, "first": first, "second": second, "outcome": outcome, "strength": strength}


def fit_evalkit(data: dict[str, Any], n_boot: int) -> dict[str, tuple[float, float, float]]:
    from evalkit.stats import Verdict, bradley_terry

    verdicts = [
        Verdict(f"p{p}", f"m{a:03d}", f"m{b:03d}", "llm:j", 0, OUTCOMES[o], 2, False, False, None)
        for p, a, b, o in zip(
            *(data[k].tolist() for k in ("prompt", "first", "second", "outcome")), strict=True
        )
    ]
    return {r.system: (r.score, r.ci_low, r.ci_high) for r in bradley_terry(verdicts, n_boot=n_boot)}


def fit_arena_rank(data: dict[str, Any]) -> dict[str, tuple[float, float, float]]:
    import pandas as pd
    from arena_rank.models.bradley_terry import BradleyTerry
    from arena_rank.utils.data_utils import PairDataset

    winner = np.array(["model_a", "model_b", "tie"])[data["outcome"]]
    names = np.array([f"m{i:03d}" for i in range(int(max(data["first"].max(), data["second"].max())) + 1)])
    frame = pd.DataFrame(
        {"model_a": names[data["first"]], "model_b": names[data["second"]], "winner": winner}
    )
    dataset = PairDataset.from_pandas(frame)
    model = BradleyTerry(n_competitors=len(dataset.competitors))
    result = model.compute_ratings_and_cis(dataset, ci_method="sandwich")
    columns = zip(
        result["competitors"], result["ratings"], result["rating_lower"], result["rating_upper"], strict=True
    )
    return {str(n): (float(r), float(lo), float(hi)) for n, r, lo, hi in columns}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(method: str, shape: str, n_boot: int) -> None:
    """Fit one shape with one method in this process; print time, memory and ratings as JSON."""
    n_systems, n_battles, per_prompt = (int(x) for x in shape.split("x"))
    data = simulate(n_systems, n_battles, per_prompt, seed=1, prompt_sd=0.5 if per_prompt > 1 else 0.0)
    if method == "evalkit":
        import evalkit.stats  # noqa: F401  (imported before the baseline reading, as arena-rank's are)

        fit = lambda: fit_evalkit(data, n_boot)  # noqa: E731
    else:
        import arena_rank.models.bradley_terry  # noqa: F401

        fit = lambda: fit_arena_rank(data)  # noqa: E731
    before = peak_rss_mb()
    start = time.perf_counter()
    ratings = fit()
    seconds = time.perf_counter() - start
    if method == "arena":  # time a second fit: JAX compiled during the first
        start = time.perf_counter()
        ratings = fit()
        seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak": peak_rss_mb(), "before": before, "ratings": ratings}))


def run_child(method: str, shape: str, n_boot: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", method, "--shapes", shape, "--boot", str(n_boot)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def largest_difference(ours: dict[str, Any], theirs: dict[str, Any]) -> float:
    shift = float(np.mean([ours[s][0] - theirs[s][0] for s in ours]))
    return max(abs(ours[s][0] - theirs[s][0] - shift) for s in ours)


def shapes(spec: str, n_boot: int, have_arena: bool) -> None:
    for shape in spec.split(","):
        ours = run_child("evalkit", shape, n_boot)
        line = (
            f"1. {shape} (systems x battles x per prompt): evalkit ({n_boot} bootstrap) "
            f"{ours['seconds']:.2f} s, peak RSS {ours['peak']:.0f} MB "
            f"(+{ours['peak'] - ours['before']:.0f} fitting)"
        )
        if have_arena:
            theirs = run_child("arena", shape, n_boot)
            line += (
                f"; arena-rank (sandwich) {theirs['seconds']:.2f} s, peak RSS {theirs['peak']:.0f} MB "
                f"(+{theirs['peak'] - theirs['before']:.0f}); "
                f"ratio time {ours['seconds'] / theirs['seconds']:.2f}, "
                f"peak memory {ours['peak'] / theirs['peak']:.2f}; largest rating difference "
                f"{largest_difference(ours['ratings'], theirs['ratings']):.4f} points"
            )
        print(line, flush=True)


def width_ratio(fits: list[dict[str, tuple[float, float, float]]]) -> float:
    """Mean reported 95% width over the true width (2 x 1.96 x sd of the estimates across data sets)."""
    systems = sorted(fits[0])
    estimates = np.array([[f[s][0] for s in systems] for f in fits])
    reported = np.array([[f[s][2] - f[s][1] for s in systems] for f in fits]).mean(axis=0)
    true = 2 * 1.959964 * estimates.std(axis=0, ddof=1)
    return float(np.mean(reported / true))


def widths(n_sims: int, n_boot: int, have_arena: bool) -> None:
    for label, shape, prompt_sd in (
        ("clustered: 10 systems, 200 prompts x 45 pairs, prompt effect sd 1.0", (10, 9000, 45), 1.0),
        ("arena-like: 20 systems, 10,000 battles, one per prompt", (20, 10_000, 1), 0.0),
    ):
        datasets = [simulate(*shape, seed=100 + k, prompt_sd=prompt_sd) for k in range(n_sims)]
        start = time.perf_counter()
        ours = width_ratio([fit_evalkit(d, n_boot) for d in datasets])
        line = f"2. {label}, {n_sims} data sets: reported / true width: evalkit (bootstrap) {ours:.2f}"
        if have_arena:
            theirs = width_ratio([fit_arena_rank(d) for d in datasets])
            line += f", arena-rank (sandwich) {theirs:.2f}"
        print(f"{line} ({time.perf_counter() - start:.0f} s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default=SHAPES)
    parser.add_argument("--sims", type=int, default=25)
    parser.add_argument("--boot", type=int, default=200)
    parser.add_argument("--child", choices=("evalkit", "arena"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.shapes, args.boot)
        return
    have_arena = importlib.util.find_spec("arena_rank") is not None
    if not have_arena:
        print("arena-rank is not installed here (pip install arena-rank): its columns are skipped")
    print(f"shapes: {args.shapes}; bootstrap replicates: {args.boot}; re-simulated data sets: {args.sims}")
    shapes(args.shapes, args.boot, have_arena)
    widths(args.sims, args.boot, have_arena)


if __name__ == "__main__":
    main()
