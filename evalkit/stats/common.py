"""Shared pieces of the statistics layer: cluster bootstrap draws, intervals, grouping."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from evalkit.errors import EvalkitError
from evalkit.records import Outcome, Prompt

GroupBy = Literal["all", "split", "category"]
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

HUMAN_PREFIX = "human:"
"""Sources of human labels are "human:<annotator>"; every other source is a judge."""

OUTCOME_SCORE: dict[Outcome, float] = {"a": 1.0, "tie": 0.5, "b": 0.0}
"""Score of model_a for each outcome: a tie counts half a win."""

_CHUNK_CELLS = 4_000_000
"""Bound on replicates x clusters held in memory at once (about 32 MB of float64)."""


class StatsInputError(EvalkitError, ValueError):
    """Records or arguments passed to a statistics function cannot be used as given."""


def is_human(source: str) -> bool:
    """True for human labels (source "human:<annotator>")."""
    return source.startswith(HUMAN_PREFIX)


def group_label(prompt_id: str, prompts: Mapping[str, Prompt], by: GroupBy) -> str:
    """Return the group a prompt belongs to: "all", or its split or category.

    Raises:
        StatsInputError: ``by`` needs the prompt and ``prompts`` lacks it.

    """
    if by == "all":
        return "all"
    prompt = prompts.get(prompt_id)
    if prompt is None:
        raise StatsInputError(
            f"prompt id {prompt_id!r} has results but is not in the prompts mapping; "
            f"pass every prompt of the run to group results by {by}"
        )
    return prompt.split if by == "split" else prompt.category


def cluster_index(keys: Sequence[Hashable]) -> tuple[IntArray, int]:
    """Map each key to a dense cluster number (first appearance order); return numbers and count."""
    numbers: dict[Hashable, int] = {}
    dense = (numbers.setdefault(key, len(numbers)) for key in keys)
    index = np.fromiter(dense, dtype=np.intp, count=len(keys))
    return index, len(numbers)


def cluster_sums(index: IntArray, n_clusters: int, values: FloatArray) -> FloatArray:
    """Sum per-item values (shape (items,) or (items, k)) within each cluster."""
    out = np.zeros((n_clusters, *values.shape[1:]), dtype=np.float64)
    np.add.at(out, index, values)
    return out


def bootstrap_draws(n_clusters: int, n_boot: int, rng: np.random.Generator) -> Iterator[IntArray]:
    """Yield resampling draws in chunks: row r lists the clusters replicate r drew (with replacement).

    Drawing whole clusters (prompts) keeps every verdict of a prompt together. Chunks bound
    memory; the draws, hence the results, do not depend on where chunks split.
    """
    rows_per_chunk = max(1, _CHUNK_CELLS // max(n_clusters, 1))
    for start in range(0, n_boot, rows_per_chunk):
        rows = min(rows_per_chunk, n_boot - start)
        yield rng.integers(0, n_clusters, size=(rows, n_clusters), dtype=np.intp)


def draw_counts(draws: IntArray, n_clusters: int) -> FloatArray:
    """Turn draws into weights: entry (r, c) counts how often replicate r drew cluster c."""
    rows = draws.shape[0]
    flat = draws + np.arange(rows)[:, None] * n_clusters
    counts = np.bincount(flat.ravel(), minlength=rows * n_clusters)
    return counts.reshape(rows, n_clusters).astype(np.float64)


def identity_draws(n_clusters: int) -> IntArray:
    """The one "replicate" that takes every cluster once: evaluates a statistic on the data."""
    return np.arange(n_clusters, dtype=np.intp)[None, :]


def bootstrap(
    n_clusters: int,
    n_boot: int,
    seed: int | np.random.Generator,
    statistic: Callable[[IntArray], FloatArray],
) -> FloatArray:
    """Evaluate ``statistic`` on every replicate's draws; rows of the result are replicates.

    Args:
        n_clusters: Number of clusters (prompts) to resample.
        n_boot: Number of replicates.
        seed: Seed for ``numpy.random.default_rng``, or a generator to draw from.
        statistic: Maps a (replicates, n_clusters) array of drawn cluster numbers to
            (replicates, ...) values.

    """
    rng = np.random.default_rng(seed)
    chunks = [statistic(draws) for draws in bootstrap_draws(n_clusters, n_boot, rng)]
    if not chunks:
        return np.empty((0,), dtype=np.float64)
    return np.concatenate(chunks, axis=0)


def permutation_draws(
    n_clusters: int, n_first: int, n_perm: int, rng: np.random.Generator
) -> Iterator[IntArray]:
    """Yield chunks of random relabellings: row r lists the ``n_first`` clusters put in the first group.

    Every row is a uniformly random subset of size ``n_first``.
    """
    rows_per_chunk = max(1, _CHUNK_CELLS // max(n_clusters, 1))
    for start in range(0, n_perm, rows_per_chunk):
        rows = min(rows_per_chunk, n_perm - start)
        keys = rng.random((rows, n_clusters))
        yield np.argpartition(keys, n_first - 1, axis=1)[:, :n_first]


def ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    """Elementwise numerator / denominator with nan where the denominator is zero."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), np.nan)


def percentile_interval(samples: FloatArray, confidence: float) -> tuple[float, float]:
    """Percentile interval of bootstrap samples (nan replicates ignored; nan if none are left)."""
    check_confidence(confidence)
    finite = samples[~np.isnan(samples)]
    if finite.size == 0:
        return (math.nan, math.nan)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return (float(low), float(high))


def percentile_columns(samples: FloatArray, confidence: float) -> list[tuple[float, float]]:
    """Percentile interval of each column of a (replicates, k) sample matrix."""
    return [percentile_interval(samples[:, col], confidence) for col in range(samples.shape[1])]


def check_confidence(confidence: float) -> None:
    """Reject confidence levels outside (0, 1)."""
    if not 0.0 < confidence < 1.0:
        raise StatsInputError(f"confidence must be between 0 and 1 (exclusive), got {confidence}")


def safe_share(count: float, total: float) -> float:
    """Return count / total, or nan when total is zero."""
    return count / total if total else math.nan
