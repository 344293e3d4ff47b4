"""Judge win rates corrected by human labels (prediction-powered inference over prompts).

The quantity is the humans' win rate of model_a over model_b with ties counted half: on each
prompt, the mean over annotators (and response samples) of 1 for "a better", 0.5 for "neither",
0 for "b better", averaged over prompts. The judge's score of a prompt is its own such mean. The
judge scores every prompt it resolved (N); people label some of them (n); ``ppi_mean`` combines
the two. The interval is valid when the labeled prompts are a uniform random sample of the
judged ones (within each group, when the sample was stratified by that group).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from evalkit.records import Prompt
from evalkit.stats.common import OUTCOME_SCORE, GroupBy, check_confidence, group_label, is_human
from evalkit.stats.pairwise import Verdict
from evalkit.stats.ppi import CorrectionMethod, PPIEstimate, mean_interval, ppi_mean

_Comparison = tuple[str, str, str, str]
"""(model_a, model_b, judge source, group)."""


@dataclass(frozen=True, slots=True)
class CorrectedWinRate:
    """A judge's win rate of model_a over model_b, corrected by human labels on a random subset.

    Attributes:
        model_a: The first-named system.
        model_b: The second-named system.
        judge: The judge source whose verdicts are corrected.
        group: "all", or the split or category.
        method: "ppi++" (the judge's weight tuned), "ppi" (weight 1) or "classical".
        n_items: Prompts the judge resolved (N).
        n_labeled: Of those, prompts with at least one human label (n).
        judge_win_rate: The judge-only win rate over the N prompts, with a normal interval
            that ignores the judge's bias (``judge_ci_low``, ``judge_ci_high``).
        human_win_rate: The humans' win rate over the n prompts alone, with its interval.
        win_rate: The corrected estimate of the humans' win rate over the N prompts.
        ci_low: Lower end of its interval.
        ci_high: Upper end of its interval.
        lam: The weight given to the judge (0 = humans alone, 1 = plain PPI).

    """

    model_a: str
    model_b: str
    judge: str
    group: str
    method: str
    n_items: int
    n_labeled: int
    judge_win_rate: float
    judge_ci_low: float
    judge_ci_high: float
    human_win_rate: float
    human_ci_low: float
    human_ci_high: float
    win_rate: float
    ci_low: float
    ci_high: float
    lam: float


def corrected_win_rates(
    verdicts: Sequence[Verdict],
    prompts: Mapping[str, Prompt],
    *,
    by: GroupBy = "all",
    method: CorrectionMethod = "ppi++",
    confidence: float = 0.95,
) -> list[CorrectedWinRate]:
    """Every judge's win rates corrected by the human labels on the same comparisons.

    Args:
        verdicts: Reconciled verdicts of judges and annotators (source "human:<id>").
        prompts: Prompt id -> Prompt; needed when grouping by split or category.
        by: "all", "split" or "category".
        method: "ppi++" (default), "ppi" or "classical" (the human labels alone).
        confidence: Interval coverage.

    Returns:
        One row per (model_a, model_b, judge, group) with at least one human-labeled prompt,
        in first-appearance order of the judge's verdicts, groups sorted.

    """
    check_confidence(confidence)
    humans = _human_scores(v for v in verdicts if is_human(v.source))
    judged = _judge_scores(v for v in verdicts if not is_human(v.source))
    rows = []
    for (model_a, model_b, judge), scores in judged.items():
        by_group: dict[str, list[str]] = {}
        for prompt_id in scores:
            by_group.setdefault(group_label(prompt_id, prompts, by), []).append(prompt_id)
        labels = humans.get((model_a, model_b), {})
        for group in sorted(by_group):
            key = (model_a, model_b, judge, group)
            row = _corrected(key, by_group[group], scores, labels, method, confidence)
            if row is not None:
                rows.append(row)
    return rows


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _human_scores(verdicts: Iterable[Verdict]) -> dict[tuple[str, str], dict[str, float]]:
    """Per comparison (both orientations) and prompt: the annotators' mean score of the first-named system."""
    pooled: dict[tuple[str, str], dict[str, list[float]]] = {}
    for v in verdicts:
        if v.outcome is None:
            continue
        score = OUTCOME_SCORE[v.outcome]
        pooled.setdefault((v.model_a, v.model_b), {}).setdefault(v.prompt_id, []).append(score)
        pooled.setdefault((v.model_b, v.model_a), {}).setdefault(v.prompt_id, []).append(1.0 - score)
    return {pair: {p: _mean(s) for p, s in by_prompt.items()} for pair, by_prompt in pooled.items()}


def _judge_scores(verdicts: Iterable[Verdict]) -> dict[tuple[str, str, str], dict[str, float]]:
    """Per (model_a, model_b, judge) and prompt: the judge's mean score over response samples."""
    pooled: dict[tuple[str, str, str], dict[str, list[float]]] = {}
    for v in verdicts:
        if v.outcome is not None:
            key = (v.model_a, v.model_b, v.source)
            pooled.setdefault(key, {}).setdefault(v.prompt_id, []).append(OUTCOME_SCORE[v.outcome])
    return {key: {p: _mean(s) for p, s in by_prompt.items()} for key, by_prompt in pooled.items()}


def _corrected(
    key: _Comparison,
    prompt_ids: Sequence[str],
    judge: Mapping[str, float],
    humans: Mapping[str, float],
    method: CorrectionMethod,
    confidence: float,
) -> CorrectedWinRate | None:
    labeled = [p for p in prompt_ids if p in humans]
    if not labeled:
        return None
    everything = [judge[p] for p in prompt_ids]
    labels = [humans[p] for p in labeled]
    judge_only = mean_interval(everything, confidence=confidence)
    human_only = mean_interval(labels, confidence=confidence)
    estimate: PPIEstimate = ppi_mean(
        labels, [judge[p] for p in labeled], everything, method=method, confidence=confidence
    )
    return CorrectedWinRate(
        *key,
        method=method,
        n_items=len(prompt_ids),
        n_labeled=len(labeled),
        judge_win_rate=judge_only.estimate,
        judge_ci_low=judge_only.ci_low,
        judge_ci_high=judge_only.ci_high,
        human_win_rate=human_only.estimate,
        human_ci_low=human_only.ci_low,
        human_ci_high=human_only.ci_high,
        win_rate=estimate.estimate,
        ci_low=estimate.ci_low,
        ci_high=estimate.ci_high,
        lam=estimate.lam,
    )
