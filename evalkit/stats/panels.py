"""Repeated judge samples and judge panels, combined into one verdict per item.

Every individual verdict stays stored; these functions only add combined verdicts:
``aggregate_samples`` collapses n samples of one judge on one item, ``combine_panel``
combines several judges (sources) on the same item into a ``panel:<name>`` source.
Members that are unresolved (unparsed or failed) do not vote; an item where no member
resolved stays unresolved, so nothing is ever guessed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import Literal

from evalkit.records import Judgment, Outcome
from evalkit.stats.pairwise import Verdict, reconcile

PanelMethod = Literal["majority", "mean_probability"]
_OUTCOMES: tuple[Outcome, ...] = ("a", "b", "tie")
_ItemKey = tuple[str, str, str, int]


def _item(verdict: Verdict) -> _ItemKey:
    return (verdict.prompt_id, verdict.model_a, verdict.model_b, verdict.response_sample)


def _majority(members: Sequence[Verdict]) -> Outcome | None:
    counts = Counter(v.outcome for v in members if v.outcome is not None)
    if not counts:
        return None
    ranked = counts.most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return "tie"  # no majority: the members disagree as much as they agree
    return ranked[0][0]


def _mean_probabilities(members: Sequence[Verdict]) -> dict[Outcome, float] | None:
    """Mean label probabilities; a member without probabilities counts as certain of its outcome."""
    tables = []
    for verdict in members:
        if verdict.outcome is None:
            continue
        tables.append(verdict.probabilities or {o: float(o == verdict.outcome) for o in _OUTCOMES})
    if not tables:
        return None
    return {o: sum(t.get(o, 0.0) for t in tables) / len(tables) for o in _OUTCOMES}


def _combine(members: Sequence[Verdict], method: PanelMethod, source: str, sample: int) -> Verdict:
    first = members[0]
    probabilities = _mean_probabilities(members)
    if method == "mean_probability" and probabilities is not None:
        best = max(probabilities.values())
        leaders = [o for o in _OUTCOMES if probabilities[o] == best]
        outcome: Outcome | None = leaders[0] if len(leaders) == 1 else "tie"
    else:
        outcome = _majority(members)
    resolved = {v.outcome for v in members if v.outcome is not None}
    return Verdict(
        first.prompt_id,
        first.model_a,
        first.model_b,
        source,
        sample,
        outcome,
        orders=max(v.orders for v in members),
        inconsistent=len(resolved) > 1,
        flipped=any(v.flipped for v in members),
        probabilities=probabilities,
        response_sample=first.response_sample,
    )


def aggregate_samples(verdicts: Sequence[Verdict], *, method: PanelMethod = "majority") -> list[Verdict]:
    """One verdict per (item, source) from a judge's repeated samples (sample index 0 in the result)."""
    groups: dict[tuple[_ItemKey, str], list[Verdict]] = {}
    for verdict in verdicts:
        groups.setdefault((_item(verdict), verdict.source), []).append(verdict)
    return [
        members[0] if len(members) == 1 else _combine(members, method, source, 0)
        for (_, source), members in groups.items()
    ]


def combine_panel(
    verdicts: Sequence[Verdict],
    sources: Sequence[str],
    *,
    method: PanelMethod = "majority",
    name: str = "panel",
) -> list[Verdict]:
    """Combine several judges' verdicts on the same items into verdicts of source ``panel:<name>``.

    Repeated samples are aggregated per judge first, so each judge has one vote per item.
    """
    chosen = aggregate_samples([v for v in verdicts if v.source in set(sources)], method=method)
    groups: dict[_ItemKey, list[Verdict]] = {}
    for verdict in chosen:
        groups.setdefault(_item(verdict), []).append(verdict)
    return [_combine(members, method, f"panel:{name}", 0) for members in groups.values()]


def run_verdicts(
    judgments: Sequence[Judgment],
    *,
    panel: PanelMethod | None = None,
    probability_sources: AbstractSet[str] = frozenset(),
) -> list[Verdict]:
    """The verdicts a run reports: each judge (samples aggregated) plus the panel, if configured.

    Args:
        judgments: The run's pairwise judgments.
        panel: The panel method; when set and at least two LLM pairwise judges are present,
            their verdicts are also combined into a ``panel:panel`` source.
        probability_sources: Sources whose two orders are reconciled by probability.

    """
    method: PanelMethod = panel or "majority"
    verdicts = aggregate_samples(reconcile(judgments, probability_sources), method=method)
    llm_sources = sorted({v.source for v in verdicts if v.source.startswith("llm:")})
    if panel is not None and len(llm_sources) >= 2:
        verdicts += combine_panel(verdicts, llm_sources, method=method)
    return verdicts
