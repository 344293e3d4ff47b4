"""Who labeled what: labels per rater and item, paired for agreement between raters.

An item is one thing two raters can both label: a comparison on a prompt (pairwise) or one
system's response on a prompt (grades). Pairwise labels are kept in one orientation per pair of
systems (the first seen), so a rater shown (B, A) is matched with its outcome swapped.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from evalkit.records import Grade, Outcome, Prompt, swap_outcome
from evalkit.stats.common import GroupBy, group_label, is_human
from evalkit.stats.grades import KNOWN_LABEL_ORDERS
from evalkit.stats.pairwise import Verdict

ItemKey = tuple[str, ...]
"""An item's identity; its first element is always the prompt id (the bootstrap cluster)."""
Labels = dict[ItemKey, str]
"""One rater's labels by item."""

HUMANS = "humans"
"""Name of all human annotators taken together."""
OTHERS_MODE = "others' mode"
"""Name of the most common label among the other annotators (leave-one-out agreement)."""
PAIRWISE_LABELS: tuple[Outcome, ...] = ("a", "tie", "b")


@dataclass(frozen=True, slots=True)
class RatingPairs:
    """Labels of two raters on the items both labeled (several rater pairs may be pooled).

    Attributes:
        relation: "human-human", "judge-human" or "judge-judge".
        source_x: The first rater (a source, or ``HUMANS`` for all annotators pooled).
        source_y: The second rater, or ``OTHERS_MODE``.
        prompt_ids: Each pair's prompt, the unit the bootstrap resamples.
        x: The first rater's labels.
        y: The second rater's labels.
        units: For ``HUMANS`` with ``HUMANS``: every item's labels from all annotators, for
            Krippendorff's alpha over several annotators with missing data.

    """

    relation: str
    source_x: str
    source_y: str
    prompt_ids: tuple[str, ...]
    x: tuple[str, ...]
    y: tuple[str, ...]
    units: tuple[tuple[str, tuple[str, ...]], ...] = ()


def verdict_labels(verdicts: Iterable[Verdict]) -> dict[str, Labels]:
    """Resolved pairwise outcomes per source and item, every pair of systems in one orientation."""
    orientation: dict[frozenset[str], tuple[str, str]] = {}
    by_source: dict[str, Labels] = {}
    for v in verdicts:
        if v.outcome is None:
            continue
        a, b = orientation.setdefault(frozenset((v.model_a, v.model_b)), (v.model_a, v.model_b))
        outcome = v.outcome if (v.model_a, v.model_b) == (a, b) else swap_outcome(v.outcome)
        key = (v.prompt_id, a, b, str(v.response_sample))
        by_source.setdefault(v.source, {})[key] = str(outcome)
    return by_source


def grade_labels(grades: Iterable[Grade]) -> dict[str, dict[str, Labels]]:
    """Usable grade labels per scale (per-turn grades as "<scale>/turnN") and source."""
    by_scale: dict[str, dict[str, Labels]] = {}
    for g in grades:
        if g.label is None or g.error is not None:
            continue
        scale = g.scale if g.turn is None else f"{g.scale}/turn{g.turn + 1}"
        key = (g.prompt_id, g.system, str(g.response_sample))
        by_scale.setdefault(scale, {}).setdefault(g.source, {})[key] = g.label
    return by_scale


def rating_pairs(labels: Mapping[str, Labels], *, leave_one_out: bool = True) -> list[RatingPairs]:
    """Every comparison of raters the agreement tables show.

    Judges with each other and with all humans pooled; every two annotators; all annotators
    pooled (every two annotators on each shared item); and, with ``leave_one_out``, each
    annotator against the most common label of the others (AlpacaFarm; items where the others
    have no single most common label are left out). Comparisons without shared items are dropped.
    """
    humans = sorted(s for s in labels if is_human(s))
    judges = [s for s in labels if not is_human(s)]
    found = [_pair("judge-judge", x, y, labels[x], labels[y]) for x, y in itertools.combinations(judges, 2)]
    for judge in judges:
        found.append(_pooled("judge-human", judge, HUMANS, [(labels[judge], labels[h]) for h in humans]))
        if len(humans) > 1:  # with one annotator the pooled row already is that annotator's
            found += [_pair("judge-human", judge, h, labels[judge], labels[h]) for h in humans]
    combos = list(itertools.combinations(humans, 2))
    found += [_pair("human-human", x, y, labels[x], labels[y]) for x, y in combos]
    if combos:
        pooled = _pooled("human-human", HUMANS, HUMANS, [(labels[x], labels[y]) for x, y in combos])
        found.append(_with_units(pooled, [labels[h] for h in humans]))
    if leave_one_out and len(humans) > 2:
        found += [_leave_one_out(h, labels[h], [labels[o] for o in humans if o != h]) for h in humans]
    return [pairs for pairs in found if pairs.prompt_ids]


def _pair(relation: str, x: str, y: str, labels_x: Labels, labels_y: Labels) -> RatingPairs:
    return _pooled(relation, x, y, [(labels_x, labels_y)])


def _pooled(relation: str, x: str, y: str, tables: Sequence[tuple[Labels, Labels]]) -> RatingPairs:
    shared = [
        (key, table_x[key], table_y[key]) for table_x, table_y in tables for key in table_x if key in table_y
    ]
    return RatingPairs(
        relation,
        x,
        y,
        prompt_ids=tuple(key[0] for key, _, _ in shared),
        x=tuple(label for _, label, _ in shared),
        y=tuple(label for _, _, label in shared),
    )


def _with_units(pairs: RatingPairs, tables: Sequence[Labels]) -> RatingPairs:
    items: dict[ItemKey, list[str]] = {}
    for table in tables:
        for key, label in table.items():
            items.setdefault(key, []).append(label)
    units = tuple((key[0], tuple(values)) for key, values in items.items() if len(values) >= 2)
    return RatingPairs(
        pairs.relation, pairs.source_x, pairs.source_y, pairs.prompt_ids, pairs.x, pairs.y, units
    )


def _leave_one_out(source: str, own: Labels, others: Sequence[Labels]) -> RatingPairs:
    modes: Labels = {}
    for key in own:
        counts = Counter(table[key] for table in others if key in table).most_common()
        if counts and (len(counts) == 1 or counts[0][1] > counts[1][1]):
            modes[key] = counts[0][0]
    return _pair("human-human", source, OTHERS_MODE, own, modes)


def scale_order(labels: Mapping[str, Labels]) -> tuple[tuple[str, ...], bool]:
    """A scale's labels in order, and whether that order is known (so ordinal alpha applies)."""
    seen = {label for table in labels.values() for label in table.values()}
    for known in KNOWN_LABEL_ORDERS:
        if seen <= set(known):
            return known, True
    try:
        return tuple(sorted(seen, key=float)), True
    except ValueError:
        return tuple(sorted(seen)), False


def by_group(pairs: RatingPairs, prompts: Mapping[str, Prompt], by: GroupBy) -> dict[str, RatingPairs]:
    """Split pairs (and units) by the group of their prompt: "all", a split or a category."""
    labels = {p: group_label(p, prompts, by) for p in pairs.prompt_ids}
    return {group: _subset(pairs, labels, group) for group in sorted(set(labels.values()))}


def _subset(pairs: RatingPairs, groups: Mapping[str, str], group: str) -> RatingPairs:
    """The pairs (and units) whose prompt is in ``group``."""
    chosen = [i for i, prompt_id in enumerate(pairs.prompt_ids) if groups[prompt_id] == group]
    return RatingPairs(
        pairs.relation,
        pairs.source_x,
        pairs.source_y,
        tuple(pairs.prompt_ids[i] for i in chosen),
        tuple(pairs.x[i] for i in chosen),
        tuple(pairs.y[i] for i in chosen),
        tuple(unit for unit in pairs.units if groups.get(unit[0]) == group),
    )
