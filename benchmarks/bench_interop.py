"""evalkit's AlpacaEval fields, length control and style control against the peers' own packages.

Run it in an environment that also has ``alpaca-eval`` and ``arena-rank`` (not evalkit
dependencies): ``python -m venv .venv-bench && .venv-bench/bin/pip install -e . alpaca-eval
arena-rank``. Sections whose package is missing are skipped with a note.

1. AlpacaEval fields: every model in ../shared/data/alpaca_eval imported with
   ``evalkit import``; win rate, standard error, counts and discrete win rate compared with
   ``alpaca_eval.metrics.get_winrate`` on the same annotations (largest absolute difference).
2. Length-controlled win rate for 20 synthetic systems x 805 prompts against one baseline,
   with intervals (sandwich, and 200-replicate bootstrap): wall time (target under 2 s).
3. Style control on a synthetic length-biased judge (``--systems`` systems, all pairs on
   ``--prompts`` prompts): rank correlation with the true strengths, worst rating error in
   points, length coefficient error, time with sandwich intervals (and with a bootstrap of
   ``--style-boot`` replicates).
4. Bradley–Terry ratings against ``arena_rank`` on the same battles: largest rating
   difference in points, fit time with intervals (evalkit: 200-replicate prompt bootstrap;
   arena-rank: its sandwich intervals, timed on a second call so JAX compilation is not
   counted), evalkit's peak traced memory (JAX's allocations are not visible to tracemalloc).

Usage: python benchmarks/bench_interop.py [--systems 20] [--prompts 500] [--style-boot N] [--data DIR]
"""

from __future__ import annotations

import os

# one BLAS thread: on a shared machine threaded BLAS makes small matrix products up to 200x slower
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import importlib.util
import json
import math
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import expit
from scipy.stats import spearmanr

from evalkit.interop import import_run
from evalkit.interop.leaderboard import alpaca_eval_leaderboard
from evalkit.records import Outcome, Response
from evalkit.runner.rundir import RunDir
from evalkit.stats import Verdict, alpaca_eval_length_controlled, bradley_terry, style_controlled_ratings

POINTS = 400 / math.log(10)


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Seconds, peak traced memory (MB) and the result of one call."""
    tracemalloc.start()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak, result


def alpaca_fields(data: Path) -> None:
    root = data / "alpaca_eval"
    if importlib.util.find_spec("alpaca_eval") is None:
        print("1. AlpacaEval fields: skipped (pip install alpaca-eval in this environment)")
        return
    import pandas as pd
    from alpaca_eval.metrics import get_winrate

    with tempfile.TemporaryDirectory() as folder:
        rows = alpaca_eval_leaderboard(
            RunDir(import_run("alpaca_eval", [root], Path(folder) / "r"), create=False).load_records()
        )
    worst = 0.0
    for row in rows:
        annotator = row.source.removeprefix("import:")
        path = root / "results" / row.model / annotator / "annotations.json"
        theirs = get_winrate(pd.DataFrame(json.loads(path.read_text())))
        for field in (
            "win_rate",
            "standard_error",
            "n_wins",
            "n_wins_base",
            "n_draws",
            "n_total",
            "discrete_win_rate",
        ):
            if field in theirs:
                worst = max(worst, abs(float(theirs[field]) - float(getattr(row, field))))
    print(
        f"1. AlpacaEval fields vs alpaca_eval.metrics.get_winrate: {len(rows)} models, "
        f"largest difference {worst:.3g}"
    )


def lc_timing(n_systems: int = 20, n_prompts: int = 805) -> None:
    rng = np.random.default_rng(0)
    difficulty = rng.normal(0, 1, n_prompts)
    base = rng.integers(400, 2000, n_prompts)
    prompts = [f"p{i}" for i in range(n_prompts)]
    responses = [
        Response(prompt_id=p, system="base", outputs=("x" * int(n),))
        for p, n in zip(prompts, base, strict=True)
    ]
    verdicts = []
    for s in range(n_systems):
        lengths = (base * rng.uniform(0.3, 2.5) * rng.uniform(0.7, 1.3, n_prompts)).astype(int)
        x = np.tanh((lengths - base) / np.std(lengths - base, ddof=1))
        p = expit(rng.normal(0, 1) + 0.8 * x - difficulty)
        responses += [
            Response(prompt_id=q, system=f"s{s}", outputs=("x" * int(n),))
            for q, n in zip(prompts, lengths, strict=True)
        ]
        verdicts += [
            Verdict(
                q,
                f"s{s}",
                "base",
                "llm:j",
                0,
                "a" if v > 0.5 else "b",
                1,
                False,
                False,
                {"a": float(v), "b": float(1 - v), "tie": 0.0},
            )
            for q, v in zip(prompts, p, strict=True)
        ]
    seconds, peak, _ = timed(lambda: alpaca_eval_length_controlled(verdicts, responses))
    boot_seconds, _, _ = timed(
        lambda: alpaca_eval_length_controlled(verdicts, responses, interval="bootstrap")
    )
    print(
        f"2. length-controlled win rate, {n_systems} systems x {n_prompts} prompts: {seconds:.2f} s with "
        f"sandwich intervals (peak {peak:.0f} MB), {boot_seconds:.2f} s with a 200-replicate bootstrap"
    )


def style_recovery(n_systems: int, n_prompts: int, n_boot: int) -> list[Verdict]:
    rng = np.random.default_rng(1)
    strength = np.linspace(1.0, -1.0, n_systems)
    verbosity = rng.uniform(0.5, 3.0, n_systems)
    names = [f"s{i}" for i in range(n_systems)]
    lengths = {
        (p, s): int(300 * verbosity[i] * rng.uniform(0.5, 1.5))
        for p in range(n_prompts)
        for i, s in enumerate(names)
    }
    responses = [Response(prompt_id=f"p{p}", system=s, outputs=("x" * n,)) for (p, s), n in lengths.items()]
    pairs = [(p, i, j) for p in range(n_prompts) for i, j in combinations(range(n_systems), 2)]
    raw = np.array(
        [
            (lengths[p, names[i]] - lengths[p, names[j]]) / (lengths[p, names[i]] + lengths[p, names[j]])
            for p, i, j in pairs
        ]
    )
    z = raw / np.sqrt((raw**2).mean())
    win = expit(np.array([strength[i] - strength[j] for _, i, j in pairs]) + 0.8 * z)
    draws = rng.random(len(pairs))
    verdicts = []
    for (p, i, j), w, u in zip(pairs, win, draws, strict=True):
        outcome: Outcome = "tie" if abs(u - w) < 0.05 else ("a" if u < w else "b")
        verdicts.append(Verdict(f"p{p}", names[i], names[j], "llm:j", 0, outcome, 2, False, False, None))
    truth = {s: 1000 + (strength[i] - strength.mean()) * POINTS for i, s in enumerate(names)}
    for method in ("sandwich", "bootstrap") if n_boot else ("sandwich",):
        seconds, peak, [result] = timed(
            lambda m=method: style_controlled_ratings(verdicts, responses, method=m, n_boot=n_boot)
        )
        scores = {r.system: r.score for r in result.ratings}
        rho = spearmanr([scores[s] for s in names], [truth[s] for s in names]).statistic
        worst = max(abs(scores[s] - truth[s]) for s in names)
        gamma = next(c.coefficient for c in result.coefficients if c.feature == "length")
        print(
            f"3. style control ({method}), {n_systems} systems, {len(verdicts)} battles: "
            f"rank correlation {rho:.4f}, worst rating error {worst:.1f} points, "
            f"length coefficient {gamma:.3f} (true 0.800, error {abs(gamma / 0.8 - 1):.1%}), "
            f"{seconds:.2f} s, peak {peak:.0f} MB"
        )
    return verdicts


def fit_arena_rank(verdicts: list[Verdict]) -> dict[str, float]:
    """arena-rank's Bradley-Terry with its closed-form (sandwich) intervals, on the same battles."""
    import pandas as pd
    from arena_rank.models.bradley_terry import BradleyTerry
    from arena_rank.utils.data_utils import PairDataset

    winner = {"a": "model_a", "b": "model_b", "tie": "tie"}
    frame = pd.DataFrame(
        {
            "model_a": [v.model_a for v in verdicts],
            "model_b": [v.model_b for v in verdicts],
            "winner": [winner[v.outcome or "tie"] for v in verdicts],
        }
    )
    dataset = PairDataset.from_pandas(frame)
    result = BradleyTerry(n_competitors=len(dataset.competitors)).compute_ratings_and_cis(
        dataset, ci_method="sandwich"
    )
    return {str(name): float(r) for name, r in zip(result["competitors"], result["ratings"], strict=True)}


def against_arena_rank(verdicts: list[Verdict]) -> None:
    if importlib.util.find_spec("arena_rank") is None:
        print("4. Bradley-Terry vs arena-rank: skipped (pip install arena-rank in this environment)")
        return
    seconds, peak, ratings = timed(lambda: bradley_terry(verdicts, n_boot=200))
    theirs_seconds, _, theirs = timed(lambda: fit_arena_rank(verdicts))
    theirs_seconds, _, theirs = timed(lambda: fit_arena_rank(verdicts))  # second call: JAX compiled
    ours = {r.system: r.score for r in ratings}
    shift = float(np.mean([ours[s] - theirs[s] for s in ours]))
    worst = max(abs(ours[s] - theirs[s] - shift) for s in ours)
    print(
        f"4. Bradley-Terry, {len(verdicts)} battles: evalkit (200 bootstrap replicates) {seconds:.2f} s, "
        f"peak {peak:.0f} MB; arena-rank (sandwich) {theirs_seconds:.2f} s; largest rating difference "
        f"{worst:.4f} points (after aligning the means)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", type=int, default=20)
    parser.add_argument("--prompts", type=int, default=500)
    parser.add_argument("--style-boot", type=int, default=0, help="also time a bootstrap of style control")
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = parser.parse_args()
    alpaca_fields(args.data)
    lc_timing()
    verdicts = style_recovery(args.systems, args.prompts, args.style_boot)
    against_arena_rank(verdicts)


if __name__ == "__main__":
    main()
