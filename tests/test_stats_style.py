"""Style-controlled Bradley–Terry: recover true strengths behind a length-biased judge."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest
from scipy.stats import spearmanr

from evalkit.records import Outcome, Prompt, Response
from evalkit.stats import Verdict
from evalkit.stats.style import style_controlled_ratings, style_features

STRENGTH = {"s1": 1.0, "s2": 0.5, "s3": 0.0, "s4": -0.5, "s5": -1.0}  # natural-log odds units
VERBOSITY = {"s1": 0.5, "s2": 2.5, "s3": 1.0, "s4": 3.0, "s5": 1.5}  # s4 is weak but long
LENGTH_GAMMA = 0.8
N_PROMPTS = 2000
POINTS = 400 / math.log(10)


def simulate(seed: int = 3) -> tuple[list[Verdict], list[Response], dict[str, Prompt]]:
    rng = np.random.default_rng(seed)
    prompts = {
        f"p{i}": Prompt(id=f"p{i}", turns=("q",), category="even" if i % 2 else "odd")
        for i in range(N_PROMPTS)
    }
    lengths = {(p, s): int(300 * v * rng.uniform(0.5, 1.5)) for p in prompts for s, v in VERBOSITY.items()}
    responses = [Response(prompt_id=p, system=s, outputs=("x" * n,)) for (p, s), n in lengths.items()]
    pairs = [(p, a, b) for p in prompts for a, b in combinations(STRENGTH, 2)]
    raw = np.array([(lengths[p, a] - lengths[p, b]) / (lengths[p, a] + lengths[p, b]) for p, a, b in pairs])
    z = raw / np.sqrt((raw**2).mean())
    logits = np.array([STRENGTH[a] - STRENGTH[b] for _, a, b in pairs]) + LENGTH_GAMMA * z
    draws = rng.random(len(pairs))
    verdicts = []
    for (p, a, b), logit, u in zip(pairs, logits, draws, strict=True):
        win = 1 / (1 + math.exp(-logit))
        outcome: Outcome = "tie" if abs(u - win) < 0.05 else ("a" if u < win else "b")
        verdicts.append(Verdict(p, a, b, "llm:judge", 0, outcome, 2, False, False, None))
    return verdicts, responses, prompts


@pytest.fixture(scope="module")
def data() -> tuple[list[Verdict], list[Response], dict[str, Prompt]]:
    return simulate()


def test_recovers_true_strengths_and_length_effect(data):
    verdicts, responses, _ = data
    [result] = style_controlled_ratings(verdicts, responses, method="sandwich")
    scores = {r.system: r.score for r in result.ratings}
    truth = {s: 1000 + (v - np.mean(list(STRENGTH.values()))) * POINTS for s, v in STRENGTH.items()}
    assert spearmanr([scores[s] for s in STRENGTH], [truth[s] for s in STRENGTH]).statistic == pytest.approx(
        1.0
    )
    # 20,000 battles give intervals of about +-12 points on the extreme systems
    assert max(abs(scores[s] - truth[s]) for s in STRENGTH) <= 20
    length = next(c for c in result.coefficients if c.feature == "length")
    assert length.coefficient == pytest.approx(LENGTH_GAMMA, rel=0.15)
    assert length.points == pytest.approx(LENGTH_GAMMA * POINTS, rel=0.15)
    assert length.ci_low < length.points < length.ci_high
    assert result.method == "sandwich, clustered by prompt"


def test_ignoring_style_misranks_the_long_weak_system(data):
    """Without the covariates the long but weak s4 overtakes s3; with them it does not."""
    from evalkit.stats import bradley_terry

    verdicts, responses, _ = data
    plain = {r.system: r.score for r in bradley_terry(verdicts, n_boot=0)}
    [result] = style_controlled_ratings(verdicts, responses, method="sandwich")
    controlled = {r.system: r.score for r in result.ratings}
    assert plain["s4"] > plain["s3"] and controlled["s4"] < controlled["s3"]


def test_bootstrap_and_sandwich_intervals_agree(data):
    verdicts, responses, _ = data
    [boot] = style_controlled_ratings(verdicts, responses, method="bootstrap", n_boot=100)
    [closed] = style_controlled_ratings(verdicts, responses, method="sandwich")
    assert boot.method == "bootstrap over prompts"
    for b, c in zip(boot.ratings, closed.ratings, strict=True):
        assert b.system == c.system and b.score == pytest.approx(c.score)
        assert (b.ci_high - b.ci_low) == pytest.approx(c.ci_high - c.ci_low, rel=0.35)
    assert [r.rank_upper for r in closed.ratings] == [1, 2, 3, 4, 5]


def test_per_category_and_features(data):
    verdicts, responses, prompts = data
    results = style_controlled_ratings(verdicts, responses, prompts, by="category", method="sandwich")
    assert [r.group for r in results] == ["even", "odd"]
    assert all(r.n == len(verdicts) // 2 for r in results)
    text = "# Title\n\nSome **bold** and __more__.\n- one\n- two\n1. three\n"
    assert style_features(text) == {"length": float(len(text)), "headers": 1.0, "bold": 2.0, "lists": 3.0}
