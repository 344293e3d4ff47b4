"""Reconcile both-order pairwise judgments into verdicts; win rates and split gaps with CIs."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from evalkit.records import Judgment, Order, Outcome, Prompt
from evalkit.stats.clusters import ScoreTable
from evalkit.stats.common import (
    OUTCOME_SCORE,
    GroupBy,
    bootstrap,
    check_confidence,
    group_label,
    identity_draws,
    safe_share,
)
from evalkit.stats.intervals import rate_interval

_OUTCOMES: tuple[Outcome, ...] = ("a", "b", "tie")
_VerdictKey = tuple[str, str, str, str, int, int]


@dataclass(frozen=True, slots=True)
class Verdict:
    """One judge source's verdict on one pair for one prompt, both orders reconciled.

    Attributes:
        outcome: "a", "b" or "tie"; None when unresolved (an order unparsed or errored).
        orders: How many presentation orders were usable (0, 1 or 2).
        inconsistent: The two orders gave different outcomes (reconciled to "tie").
        flipped: The two orders chose opposite winners: a position flip.
        probabilities: Mean verdict probabilities over the usable orders, when all had them.

    """

    prompt_id: str
    model_a: str
    model_b: str
    source: str
    sample: int
    outcome: Outcome | None
    orders: int
    inconsistent: bool
    flipped: bool
    probabilities: dict[Outcome, float] | None
    response_sample: int = 0


@dataclass(frozen=True, slots=True)
class WinRate:
    """Win/tie/loss counts of model_a against model_b with an interval.

    ``win_rate`` is (wins + ties / 2) / n over resolved verdicts; unresolved verdicts are
    counted, never scored. Its interval is Wilson's at the cluster bootstrap's effective
    sample size (evalkit.stats.intervals), so it never collapses at small n.
    ``expected_win_rate`` (added to the core fields) averages P(a) + P(tie) / 2 over the
    ``expected_n`` resolved verdicts that carry probabilities (logprob-weighted judges); it
    is nan when none does.
    """

    model_a: str
    model_b: str
    source: str
    group: str
    n: int
    wins: int
    ties: int
    losses: int
    unresolved: int
    win_rate: float
    ci_low: float
    ci_high: float
    win_share: float
    tie_share: float
    loss_share: float
    expected_win_rate: float = math.nan
    expected_ci_low: float = math.nan
    expected_ci_high: float = math.nan
    expected_n: int = 0


def reconcile(
    judgments: Iterable[Judgment], probability_sources: AbstractSet[str] = frozenset()
) -> list[Verdict]:
    """Combine the presentation orders of each pairwise judgment into one verdict.

    Judgments are grouped by (prompt_id, model_a, model_b, source, sample, response_sample); a later judgment
    of the same order replaces an earlier one. Rules: both orders parsed and equal -> that
    outcome; both parsed and different -> "tie", ``inconsistent`` (``flipped`` when one said
    a and the other b); a lone order (a judge run in one order, or a human label) -> its own
    outcome with ``orders=1``; any order present but unparsed or errored -> unresolved
    (outcome None). Mean label probabilities are kept on the verdict whenever every order
    has them (the probability-weighted win rate uses them); only for the sources named in
    ``probability_sources`` do they also decide the outcome (argmax of the mean; an exact
    tie in the argmax -> "tie").

    Args:
        judgments: Single-order judgments, in canonical terms.
        probability_sources: Sources configured with ``reconcile: probability``.

    Returns:
        One verdict per group, in order of first appearance.

    """
    groups: dict[_VerdictKey, dict[Order, Judgment]] = {}
    for judgment in judgments:
        key = (
            judgment.prompt_id,
            judgment.model_a,
            judgment.model_b,
            judgment.source,
            judgment.sample,
            judgment.response_sample,
        )
        groups.setdefault(key, {})[judgment.order] = judgment
    return [
        _reconcile_group(key, by_order, key[3] in probability_sources) for key, by_order in groups.items()
    ]


def _usable(judgment: Judgment) -> bool:
    return judgment.outcome is not None and judgment.error is None


def _reconcile_group(key: _VerdictKey, by_order: dict[Order, Judgment], by_probability: bool) -> Verdict:
    prompt_id, model_a, model_b, source, sample, response_sample = key
    usable = [by_order[order] for order in sorted(by_order) if _usable(by_order[order])]
    resolved = len(usable) == len(by_order)  # an unparsed or failed order leaves it unresolved
    outcomes = {judgment.outcome for judgment in usable} if resolved else set()
    probabilities = _mean_probabilities(usable) if resolved else None
    outcome: Outcome | None = None
    if resolved:
        outcome = usable[0].outcome if len(outcomes) == 1 else "tie"
        if by_probability and probabilities is not None and len(usable) == 2:
            outcome = _argmax(probabilities)
    return Verdict(
        prompt_id,
        model_a,
        model_b,
        source,
        sample,
        outcome,
        len(usable),
        inconsistent=len(outcomes) > 1,
        flipped=outcomes == {"a", "b"},
        probabilities=probabilities,
        response_sample=response_sample,
    )


def _mean_probabilities(judgments: Sequence[Judgment]) -> dict[Outcome, float] | None:
    tables = [judgment.probabilities for judgment in judgments]
    if not tables or any(table is None for table in tables):
        return None
    return {o: sum((table or {}).get(o, 0.0) for table in tables) / len(tables) for o in _OUTCOMES}


def _argmax(probabilities: Mapping[Outcome, float]) -> Outcome:
    best = max(probabilities.values())
    winners = [o for o in _OUTCOMES if probabilities.get(o, 0.0) >= best - 1e-12]
    return winners[0] if len(winners) == 1 else "tie"


def partition_verdicts(
    verdicts: Sequence[Verdict], prompts: Mapping[str, Prompt], by: GroupBy
) -> dict[tuple[str, str, str, str], list[Verdict]]:
    """Verdicts per (model_a, model_b, source, group): comparisons in first-appearance order."""
    cells: dict[tuple[str, str, str], dict[str, list[Verdict]]] = {}
    for verdict in verdicts:
        groups = cells.setdefault((verdict.model_a, verdict.model_b, verdict.source), {})
        groups.setdefault(group_label(verdict.prompt_id, prompts, by), []).append(verdict)
    return {(*pair, group): groups[group] for pair, groups in cells.items() for group in sorted(groups)}


def score_table(resolved: Sequence[Verdict]) -> ScoreTable:
    """Per-prompt scores (1 / 0.5 / 0) and, when all verdicts carry them, expected scores."""
    scores = [OUTCOME_SCORE[v.outcome] for v in resolved if v.outcome is not None]
    tables = [v.probabilities for v in resolved]
    expected = None
    if tables and all(table is not None for table in tables):
        expected = [(t or {}).get("a", 0.0) + 0.5 * (t or {}).get("tie", 0.0) for t in tables]
    return ScoreTable.of([v.prompt_id for v in resolved], scores, expected)


def win_rates(
    verdicts: Sequence[Verdict],
    prompts: Mapping[str, Prompt],
    *,
    by: GroupBy = "all",
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[WinRate]:
    """Win rate of model_a over model_b per judge source and group, with cluster-bootstrap CIs.

    Args:
        verdicts: Reconciled verdicts (see ``reconcile``).
        prompts: Prompt id -> Prompt; needed when grouping by split or category.
        by: "all" for one group, or "split" / "category" for one row per value.
        n_boot: Bootstrap replicates (whole prompts resampled); 0 gives nan intervals.
        confidence: Interval coverage, e.g. 0.95.
        seed: Seed of each comparison's resampling, so one comparison's interval does
            not depend on which others are present.

    Returns:
        One WinRate per (model_a, model_b, source, group).

    """
    check_confidence(confidence)
    cells = partition_verdicts(verdicts, prompts, by)
    return [_win_rate(key, cell, n_boot, confidence, seed) for key, cell in cells.items()]


def _win_rate(
    key: tuple[str, str, str, str], cell: Sequence[Verdict], n_boot: int, confidence: float, seed: int
) -> WinRate:
    resolved = [verdict for verdict in cell if verdict.outcome is not None]
    tally = Counter(verdict.outcome for verdict in resolved)
    n = len(resolved)
    scores = [OUTCOME_SCORE[v.outcome] for v in resolved if v.outcome is not None]
    rate, low, high = _rate_with_interval([v.prompt_id for v in resolved], scores, n_boot, confidence, seed)
    weighted = [(v.prompt_id, expected_score(v.probabilities)) for v in resolved if v.probabilities]
    expected = _rate_with_interval(
        [prompt_id for prompt_id, _ in weighted], [s for _, s in weighted], n_boot, confidence, seed
    )
    return WinRate(
        *key,
        n=n,
        wins=tally["a"],
        ties=tally["tie"],
        losses=tally["b"],
        unresolved=len(cell) - n,
        win_rate=rate,
        ci_low=low,
        ci_high=high,
        win_share=safe_share(tally["a"], n),
        tie_share=safe_share(tally["tie"], n),
        loss_share=safe_share(tally["b"], n),
        expected_win_rate=expected[0],
        expected_ci_low=expected[1],
        expected_ci_high=expected[2],
        expected_n=len(weighted),
    )


def expected_score(probabilities: Mapping[Outcome, float]) -> float:
    """model_a's expected score from a verdict's outcome probabilities: P(a) + P(tie) / 2."""
    return probabilities.get("a", 0.0) + 0.5 * probabilities.get("tie", 0.0)


def _rate_with_interval(
    prompt_ids: Sequence[str], scores: Sequence[float], n_boot: int, confidence: float, seed: int
) -> tuple[float, float, float]:
    """Mean score with its interval (see evalkit.stats.intervals); nan without scores."""
    if not scores:
        return (math.nan, math.nan, math.nan)
    table = ScoreTable.of(prompt_ids, scores, None)
    rate = float(table.rates(identity_draws(table.counts.size))[0])
    samples = bootstrap(table.counts.size, n_boot, seed, table.rates)
    return (rate, *rate_interval(rate, samples, table.counts.size, confidence))
