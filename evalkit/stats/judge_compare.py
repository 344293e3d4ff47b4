"""Which judge to trust: every pairwise judge of a run side by side on the same items.

Reuses the per-judge diagnostics (parse failures, order consistency, position and length bias,
self-preference) and adds what choosing between judges needs: a preference for list-formatted
answers, agreement with human labels (tie-discounted accuracy and Cohen's kappa, with intervals
resampling prompts), the disagreement between repeated samples of the same verdict, and cost
and time per 1,000 verdicts where the run recorded them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from evalkit.records import Judgment, Outcome, Response, swap_outcome
from evalkit.stats.agreement import cohens_kappa, tie_discounted_accuracy
from evalkit.stats.common import IntArray, bootstrap, cluster_index, percentile_interval, safe_share
from evalkit.stats.diagnostics import JudgeDiagnostics, judge_diagnostics
from evalkit.stats.intervals import rate_interval
from evalkit.stats.pairwise import Verdict, reconcile

HUMAN_PREFIX = "human:"
_LIST_LINE = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+\S", re.MULTILINE)
"""A bulleted or numbered list item at the start of a line."""
_MIN_LIST_ITEMS = 2


@dataclass(frozen=True, slots=True)
class HumanAgreement:
    """Agreement of one judge with the human labels of the same items."""

    items: int
    tie_discounted_accuracy: float
    accuracy_ci: tuple[float, float]
    cohens_kappa: float
    kappa_ci: tuple[float, float]


@dataclass(frozen=True, slots=True)
class JudgeComparison:
    """One pairwise judge's row of the comparison table (rates are shares in [0, 1])."""

    source: str
    diagnostics: JudgeDiagnostics
    parse_rate: float
    order_consistency: float
    list_wins_rate: float
    self_preference: tuple[str, ...]
    human: HumanAgreement | None
    repeat_disagreement: float
    repeated_items: int
    usd_per_1000: float | None
    seconds_per_1000: float | None


def is_list_formatted(text: str) -> bool:
    """True when the text holds a bulleted or numbered list (two or more items)."""
    return len(_LIST_LINE.findall(text)) >= _MIN_LIST_ITEMS


def compare_judges(
    judgments: Sequence[Judgment],
    responses: Sequence[Response],
    system_models: Mapping[str, str] | None = None,
    *,
    usd: Mapping[str, float] | None = None,
    seconds: Mapping[str, float] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> list[JudgeComparison]:
    """Compare every LLM pairwise judge; sorted by human agreement when there are human labels.

    Args:
        judgments: Single-order pairwise judgments, LLM and human (source "human:<id>").
        responses: The judged responses (lengths, list formatting, model ids).
        system_models: System name -> model spec (self-preference).
        usd: Judge source -> estimated cost of its calls, where known.
        seconds: Judge source -> seconds spent on its calls, where known.
        n_boot: Bootstrap replicates for the agreement intervals.
        seed: Bootstrap seed.

    """
    verdicts = reconcile(judgments)
    humans = [v for v in verdicts if v.source.startswith(HUMAN_PREFIX) and v.outcome is not None]
    formatted = {r.key: is_list_formatted(r.text) for r in responses}
    rows = []
    for diagnostics in judge_diagnostics(judgments, responses, system_models, n_boot=n_boot, seed=seed):
        if diagnostics.source.startswith(HUMAN_PREFIX):
            continue
        own = [v for v in verdicts if v.source == diagnostics.source]
        disagreement, repeated = repeat_disagreement(own)
        resolved = sum(v.outcome is not None for v in own)
        rows.append(
            JudgeComparison(
                source=diagnostics.source,
                diagnostics=diagnostics,
                parse_rate=1.0 - safe_share(diagnostics.unparsed + diagnostics.errors, diagnostics.judgments),
                order_consistency=1.0 - diagnostics.inconsistency_rate,
                list_wins_rate=list_wins_rate(own, formatted),
                self_preference=tuple(w for w in diagnostics.warnings if "self-preference" in w),
                human=human_agreement(own, humans, n_boot, seed) if humans else None,
                repeat_disagreement=disagreement,
                repeated_items=repeated,
                usd_per_1000=_per_1000((usd or {}).get(diagnostics.source), resolved),
                seconds_per_1000=_per_1000((seconds or {}).get(diagnostics.source), resolved),
            )
        )
    return sorted(rows, key=_human_order) if humans else rows


def _human_order(row: JudgeComparison) -> float:
    if row.human is None or math.isnan(row.human.tie_discounted_accuracy):
        return math.inf
    return -row.human.tie_discounted_accuracy


def _per_1000(total: float | None, verdicts: int) -> float | None:
    return None if total is None or verdicts == 0 else 1000.0 * total / verdicts


def list_wins_rate(verdicts: Sequence[Verdict], formatted: Mapping[tuple[str, str, int], bool]) -> float:
    """Among decided verdicts where exactly one answer is a list, the share the list won."""
    decided = won = 0
    for v in verdicts:
        if v.outcome not in ("a", "b"):
            continue
        a = formatted.get((v.prompt_id, v.model_a, v.response_sample))
        b = formatted.get((v.prompt_id, v.model_b, v.response_sample))
        if a is None or b is None or a == b:
            continue
        decided += 1
        won += (v.outcome == "a") == a
    return safe_share(won, decided)


def repeat_disagreement(verdicts: Sequence[Verdict]) -> tuple[float, int]:
    """Share of items judged more than once (samples) whose repeats do not all agree, and how many."""
    outcomes: dict[tuple[str, str, str, int], set[Outcome | None]] = {}
    counts: dict[tuple[str, str, str, int], int] = {}
    for v in verdicts:
        key = (v.prompt_id, v.model_a, v.model_b, v.response_sample)
        outcomes.setdefault(key, set()).add(v.outcome)
        counts[key] = counts.get(key, 0) + 1
    repeated = [key for key, n in counts.items() if n > 1]
    return safe_share(sum(len(outcomes[key]) > 1 for key in repeated), len(repeated)), len(repeated)


def human_agreement(
    judge: Sequence[Verdict], humans: Sequence[Verdict], n_boot: int, seed: int
) -> HumanAgreement:
    """The judge against every human label of the same item (each label is one comparison)."""
    labels: dict[tuple[str, str, str, int], list[Outcome]] = {}
    for h in humans:
        assert h.outcome is not None
        labels.setdefault((h.prompt_id, h.model_a, h.model_b, h.response_sample), []).append(h.outcome)
        swapped = swap_outcome(h.outcome)
        assert swapped is not None
        labels.setdefault((h.prompt_id, h.model_b, h.model_a, h.response_sample), []).append(swapped)
    pairs = [
        (v.prompt_id, v.outcome, label)
        for v in judge
        if v.outcome is not None
        for label in labels.get((v.prompt_id, v.model_a, v.model_b, v.response_sample), [])
    ]
    judged = [p[1] for p in pairs]
    human = [p[2] for p in pairs]
    index, n_clusters = cluster_index([p[0] for p in pairs])
    members = [np.flatnonzero(index == c) for c in range(n_clusters)]

    def statistic(draws: IntArray) -> np.ndarray:
        rows = []
        for draw in draws:
            chosen = np.concatenate([members[c] for c in draw]) if len(draw) else np.empty(0, int)
            x, y = [judged[i] for i in chosen], [human[i] for i in chosen]
            rows.append((tie_discounted_accuracy(x, y), cohens_kappa(list(x), list(y))))
        return np.asarray(rows, dtype=np.float64).reshape(-1, 2)

    samples = bootstrap(n_clusters, n_boot, seed, statistic) if pairs else np.empty((0, 2))
    accuracy = tie_discounted_accuracy(judged, human)
    return HumanAgreement(
        items=len(pairs),
        tie_discounted_accuracy=accuracy,
        accuracy_ci=rate_interval(accuracy, samples[:, 0], n_clusters) if pairs else (math.nan, math.nan),
        cohens_kappa=cohens_kappa(list(judged), list(human)),
        kappa_ci=percentile_interval(samples[:, 1], 0.95) if pairs else (math.nan, math.nan),
    )
