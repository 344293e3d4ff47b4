"""AlpacaEval's length-controlled win rate: synthetic length-biased judges, and the published values."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit
from scipy.stats import spearmanr

from evalkit.interop import import_run
from evalkit.interop.leaderboard import length_control
from evalkit.records import Response
from evalkit.runner.rundir import RunDir
from evalkit.stats import Verdict
from evalkit.stats.alpaca_lc import alpaca_eval_length_controlled, is_extreme
from evalkit.stats.difficulty import estimate_instruction_difficulty

N_PROMPTS = 300
BASE = "base"


def verdict(prompt: str, model: str, p: float) -> Verdict:
    return Verdict(
        prompt,
        model,
        BASE,
        "llm:judge",
        0,
        "a" if p > 0.5 else "b",
        1,
        False,
        False,
        {"a": p, "b": 1 - p, "tie": 0},
    )


def simulate(
    quality: dict[str, float], length_scale: dict[str, float], slope: float, seed: int = 1
) -> tuple[list[Verdict], list[Response], dict[str, float]]:
    """Soft verdicts from a judge that adds ``slope`` x tanh(standardized length difference)."""
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(0, 1, N_PROMPTS)
    base_lengths = rng.integers(400, 1600, N_PROMPTS)
    prompts = [f"p{i}" for i in range(N_PROMPTS)]
    responses = [
        Response(prompt_id=p, system=BASE, outputs=("x" * int(n),))
        for p, n in zip(prompts, base_lengths, strict=True)
    ]
    verdicts = []
    for model, theta in quality.items():
        lengths = (base_lengths * length_scale[model] * rng.uniform(0.7, 1.3, N_PROMPTS)).astype(int)
        delta = lengths - base_lengths
        x = np.tanh(delta / delta.std(ddof=1))
        probabilities = expit(theta + slope * x - difficulty)
        responses += [
            Response(prompt_id=p, system=model, outputs=("x" * int(n),))
            for p, n in zip(prompts, lengths, strict=True)
        ]
        verdicts += [verdict(p, model, float(q)) for p, q in zip(prompts, probabilities, strict=True)]
    return verdicts, responses, dict(zip(prompts, map(float, difficulty), strict=True))


def test_pure_length_bias_is_removed():
    verdicts, responses, difficulty = simulate({"long": 0.0, "short": 0.0}, {"long": 2.0, "short": 0.5}, 1.5)
    rates = {
        r.model: r
        for r in alpaca_eval_length_controlled(verdicts, responses, difficulty=difficulty, n_boot=50)
    }
    assert rates["long"].raw_win_rate > 60 and rates["short"].raw_win_rate < 40
    for name in ("long", "short"):
        assert rates[name].win_rate == pytest.approx(50, abs=2.5)
        assert rates[name].coefficients["length"] == pytest.approx(1.5, abs=0.3)
        assert rates[name].ci_low < rates[name].win_rate < rates[name].ci_high
        assert rates[name].difficulty == "given"


def test_sandwich_and_bootstrap_intervals_agree():
    verdicts, responses, difficulty = simulate({"long": 0.3}, {"long": 1.8}, 1.0)
    [closed] = alpaca_eval_length_controlled(verdicts, responses, difficulty=difficulty)
    [boot] = alpaca_eval_length_controlled(verdicts, responses, difficulty=difficulty, interval="bootstrap")
    assert closed.win_rate == boot.win_rate
    assert closed.interval == "sandwich, clustered by prompt" and boot.interval == "bootstrap over prompts"
    assert closed.ci_high - closed.ci_low == pytest.approx(boot.ci_high - boot.ci_low, rel=0.3)


def test_real_quality_survives_length_control():
    verdicts, responses, difficulty = simulate({"better": 1.0}, {"better": 1.5}, 1.0)
    [rate] = alpaca_eval_length_controlled(verdicts, responses, difficulty=difficulty, n_boot=0)
    assert rate.coefficients["intercept"] == pytest.approx(1.0, abs=0.2)
    assert 55 < rate.win_rate < rate.raw_win_rate


def test_difficulty_is_estimated_from_the_other_systems():
    quality = {"a": 0.5, "b": -0.5, "c": 0.0, "d": 1.0}
    verdicts, responses, truth = simulate(quality, dict.fromkeys(quality, 1.0), 0.5)
    estimated = estimate_instruction_difficulty(verdicts, responses, BASE)
    ids = sorted(truth)
    assert spearmanr([truth[i] for i in ids], [estimated[i] for i in ids]).statistic > 0.9
    assert np.mean(list(estimated.values())) == pytest.approx(0, abs=1e-9)
    rates = alpaca_eval_length_controlled(verdicts, responses, n_boot=0)
    assert {r.difficulty for r in rates} == {"estimated from 3 other systems"}


def test_gamed_baselines_pull_the_length_slope():
    """Gamed versions of the baseline whose length does not matter to the judge flatten the slope."""
    quality = {"cand": 0.0, f"{BASE}_verbose": 0.0, f"{BASE}_concise": 0.0}
    scale = {"cand": 2.0, f"{BASE}_verbose": 2.0, f"{BASE}_concise": 0.5}
    biased, responses, difficulty = simulate({"cand": 0.0}, {"cand": 2.0}, 2.0)
    fair, fair_responses, _ = simulate(quality, scale, 0.0)
    gamed = [v for v in fair if v.model_a != "cand"]
    extra = [r for r in fair_responses if r.system != "cand" and r.system != BASE]
    rows = {
        label: next(
            r
            for r in alpaca_eval_length_controlled(
                biased + gamed, responses + extra, difficulty=difficulty, gamed=chosen, n_boot=0
            )
            if r.model == "cand"
        )
        for label, chosen in (("without", []), ("with", None))
    }
    assert rows["with"].coefficients["length"] < rows["without"].coefficients["length"]


def test_self_comparison_is_even_and_extremes_are_flagged():
    verdicts, responses, _ = simulate({BASE: 0.0}, {BASE: 1.0}, 0.0)
    [rate] = alpaca_eval_length_controlled(verdicts, responses, n_boot=0)
    assert (rate.win_rate, rate.standard_error, rate.extreme) == (50.0, 0.0, False)
    assert is_extreme(91.4, 74.3) and is_extreme(2.0, 12.9)
    assert not is_extreme(51.3, 54.0) and not is_extreme(2.0, 4.5)


def test_published_length_controlled_rates(shared_data: Path, tmp_path: Path):
    """Without AlpacaEval's difficulty file and gamed baselines, within 10 points of every published value."""
    root = shared_data / "alpaca_eval"
    if not root.is_dir():
        pytest.skip(f"AlpacaEval reference data not found at {root}")
    records = RunDir(import_run("alpaca_eval", [root], tmp_path / "run"), create=False).load_records()
    published = {}
    for path in (root / "leaderboards").glob("*_leaderboard.csv"):
        for row in csv.DictReader(path.open(newline="")):
            published[(f"import:{path.stem.removesuffix('_leaderboard')}", row[""])] = row
    rates = length_control(records, n_boot=0)
    assert len(rates) == len(published)
    for rate in rates:
        expected = float(published[(rate.source, rate.model)]["length_controlled_winrate"])
        assert rate.win_rate == pytest.approx(expected, abs=10), rate.model
