"""The numpy side of llama.cpp continuation scoring: ranks and log-probabilities from logits."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.generators.llamacpp.scoring import _rank


def test_ranks_count_strictly_better_tokens_and_ties_share_the_top() -> None:
    logits = np.array(
        [
            [1.0, 3.0, 2.0, 3.0],  # target 3 ties the top: rank 1, like its twin 1
            [1.0, 3.0, 2.0, 0.5],  # target 2: only token 1 is better
            [1.0, 3.0, 2.0, 0.5],  # target 3: worst of four
        ],
        dtype=np.float32,
    )
    scored = _rank(logits.copy(), np.array([3, 2, 3]))
    assert scored.ranks.tolist() == [1, 2, 4]
    assert scored.top_ids.tolist() == [1, 1, 1]


def test_log_probabilities_match_a_float64_softmax_over_a_gemma_sized_vocabulary() -> None:
    generator = np.random.default_rng(7)
    offsets = np.array([[0.0], [25.0], [-30.0]])  # the softmax must not depend on where logits sit
    logits = (generator.normal(0.0, 4.0, size=(3, 262_144)) + offsets).astype(np.float32)
    targets = np.array([5, 17, 262_143])
    exact = logits.astype(np.float64)
    log_z = np.log(np.exp(exact - exact.max(axis=1, keepdims=True)).sum(axis=1)) + exact.max(axis=1)
    scored = _rank(logits.copy(), targets)
    assert scored.logprobs == pytest.approx(exact[np.arange(3), targets] - log_z, abs=1e-5)
    assert scored.ranks.tolist() == [
        int((row > row[t]).sum()) + 1 for row, t in zip(exact, targets, strict=True)
    ]
    assert scored.top_ids.tolist() == exact.argmax(axis=1).tolist()
