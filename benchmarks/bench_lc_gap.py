"""Why evalkit's length-controlled win rate differs from AlpacaEval's published one, with numbers.

For every AlpacaEval 2 model in ../shared/data/alpaca_eval (imported with ``evalkit import``):

1. the published rate (leaderboard CSV) against evalkit's, with instruction difficulty
   estimated from the other systems (leave-one-out, as shipped) and with no difficulty term;
2. AlpacaEval's own GLM code (the ``alpaca-eval`` package, formula ``length_controlled_noreg``:
   the same formula without gamed baselines) on the same annotations, given the same
   difficulty values in place of its Hub file: equal to evalkit's means the fits agree and
   the gap is in the inputs evalkit does not have (AlpacaEval's precomputed difficulty and its
   annotations of length-gamed baselines), not in the fit;
3. the length slope the published rate implies: with the slope fixed and the intercept and
   difficulty coefficient refitted, the slope at which the prediction at zero length difference
   equals the published rate, beside the fitted slope and the share of the model's answers
   shorter than the baseline's (the fit extrapolates to zero difference from there).

Usage: python benchmarks/bench_lc_gap.py [--data DIR]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import csv
import importlib.util
import json
import logging
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import brentq, minimize
from scipy.special import expit

from evalkit.interop import import_run
from evalkit.prompts import alpaca_eval_prompt_id
from evalkit.runner.rundir import RunDir
from evalkit.stats.alpaca_lc import alpaca_eval_length_controlled
from evalkit.stats.difficulty import DifficultyModel, soft_rows
from evalkit.stats.lengths import response_lengths
from evalkit.stats.panels import run_verdicts

SOURCE = "import:weighted_alpaca_eval_gpt4_turbo"
ANNOTATOR = "weighted_alpaca_eval_gpt4_turbo"
BASELINE = "gpt4_1106_preview"


def _verdicts(records: Any, source: str) -> list[Any]:
    found = run_verdicts(records.judgments, probability_sources=records.meta.probability_sources())
    return [v for v in found if v.source == source]


def published(root: Path) -> dict[str, float]:
    with (root / "leaderboards" / f"{ANNOTATOR}_leaderboard.csv").open() as handle:
        return {row[""]: float(row["length_controlled_winrate"]) for row in csv.DictReader(handle)}


def evalkit_rates(records: Any, difficulty: dict[str, float] | None) -> dict[str, Any]:
    verdicts = _verdicts(records, SOURCE)
    return {
        r.model: r for r in alpaca_eval_length_controlled(verdicts, records.responses, difficulty=difficulty)
    }


def leave_one_out_difficulty(records: Any) -> dict[str, dict[str, float]]:
    """The difficulty each candidate's fit uses as shipped: estimated from the other candidates."""
    verdicts = [v for v in _verdicts(records, SOURCE) if v.model_b == BASELINE and v.model_a != BASELINE]
    lengths = response_lengths(records.responses)
    models = list(dict.fromkeys(v.model_a for v in verdicts))
    rows = [soft_rows([v for v in verdicts if v.model_a == m], lengths) for m in models]
    joint = DifficultyModel(models, rows)
    return {m: joint.difficulty(leave_out=m) for m in models}


def alpaca_eval_code(annotations: list[dict[str, Any]], difficulty: dict[str, float]) -> float:
    """AlpacaEval's GLM on the annotations, its Hub difficulty file replaced by these values."""
    from alpaca_eval.metrics import glm_winrate

    values = [difficulty.get(alpaca_eval_prompt_id(a["instruction"]), 0.0) for a in annotations]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "df_gamed.csv"
        lines = ["model,index,instruction_difficulty"] + [f"none,{i},{v!r}" for i, v in enumerate(values)]
        path.write_text("\n".join(lines) + "\n")
        original = glm_winrate.hf_hub_download
        glm_winrate.hf_hub_download = lambda **_: str(path)
        try:
            metrics = glm_winrate.get_length_controlled_winrate(
                annotations, glm_name="length_controlled_noreg", save_weights_dir=None
            )
        finally:
            glm_winrate.hf_hub_download = original
    return float(metrics["length_controlled_winrate"])


def implied_slope(rows: Any, difficulty: dict[str, float], target: float) -> tuple[float, float]:
    """(fitted slope, slope at which the zero-length-difference prediction equals ``target`` percent)."""
    d = np.array([difficulty.get(p, 0.0) for p in rows.prompt_ids])
    x, y = rows.length, rows.scores

    def refit(slope: float | None) -> tuple[np.ndarray, float]:
        def loss(beta: np.ndarray) -> float:
            eta = beta[0] + beta[1] * d + (beta[2] if slope is None else slope) * x
            return float(-(y * eta - np.logaddexp(0.0, eta)).sum())

        beta = minimize(loss, np.zeros(3 if slope is None else 2), method="BFGS").x
        return beta, float(expit(beta[0] + beta[1] * d).mean() * 100)

    fitted = float(refit(None)[0][2])
    try:
        return fitted, float(brentq(lambda s: refit(s)[1] - target, -10.0, 10.0, xtol=1e-4))
    except ValueError:
        return fitted, float("nan")


def main() -> None:
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore", category=FutureWarning)  # scikit-learn's, inside alpaca-eval
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    root = parser.parse_args().data / "alpaca_eval"
    have_alpaca_eval = importlib.util.find_spec("alpaca_eval") is not None
    with tempfile.TemporaryDirectory() as folder:
        records = RunDir(import_run("alpaca_eval", [root], Path(folder) / "r"), create=False).load_records()
    published_rates = published(root)
    shipped, no_difficulty = evalkit_rates(records, None), evalkit_rates(records, {})
    difficulty = leave_one_out_difficulty(records)
    lengths = response_lengths(records.responses)
    verdicts = _verdicts(records, SOURCE)
    for model, target in published_rates.items():
        if model == BASELINE:
            continue
        rows = soft_rows([v for v in verdicts if v.model_a == model and v.model_b == BASELINE], lengths)
        shorter = float((rows.length < 0).mean() * 100)
        fitted, needed = implied_slope(rows, difficulty[model], target)
        line = (
            f"{model}: published {target:.3f}; evalkit {shipped[model].win_rate:.3f} "
            f"(difficulty from the other systems), {no_difficulty[model].win_rate:.3f} (no difficulty term)"
        )
        if have_alpaca_eval:
            path = root / "results" / model / ANNOTATOR / "annotations.json"
            theirs = alpaca_eval_code(json.loads(path.read_text()), difficulty[model])
            line += f"; AlpacaEval's code, same inputs {theirs:.3f}"
        print(
            f"{line}; answers shorter than the baseline's {shorter:.1f}%; length slope fitted {fitted:+.3f}, "
            f"implied by the published rate {needed:+.3f}"
        )
    if not have_alpaca_eval:
        print("AlpacaEval's code: skipped (pip install alpaca-eval in this environment)")


if __name__ == "__main__":
    main()
