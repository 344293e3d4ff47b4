"""Position preference of human annotators, from the presentation order each label records.

A judge is checked by asking it in both orders; an annotator sees one order per item (shuffled by
the labeling app, which stores it as the label's ``order``). Over many items the share of decided
labels that went to the response shown first should then be about 50%.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evalkit.records import Judgment
from evalkit.stats.common import is_human, safe_share
from evalkit.stats.intervals import wilson_interval


@dataclass(frozen=True, slots=True)
class PositionPreference:
    """How often one annotator preferred the response shown first.

    Attributes:
        source: "human:<annotator>".
        labels: Usable labels (an outcome, no error).
        decided: Labels that were not a tie.
        first_won: Decided labels that went to the response shown first.
        share: first_won / decided (nan with none decided); Wilson interval in ci_low / ci_high.
        orders: The presentation orders the labels record; a single order means the order was
            not shuffled (or not recorded), so position cannot be told apart from the systems.

    """

    source: str
    labels: int
    decided: int
    first_won: int
    share: float
    ci_low: float
    ci_high: float
    orders: tuple[str, ...]

    @property
    def shuffled(self) -> bool:
        """True when both orders were shown, so the share measures position, not the systems."""
        return len(self.orders) > 1


def human_position_preference(
    judgments: Sequence[Judgment], confidence: float = 0.95
) -> list[PositionPreference]:
    """First-position preference of each human source, in first-appearance order.

    Labels are independent single judgments, so the interval is the plain Wilson interval
    over the decided labels.
    """
    by_source: dict[str, list[Judgment]] = {}
    for judgment in judgments:
        if is_human(judgment.source) and judgment.outcome is not None and judgment.error is None:
            by_source.setdefault(judgment.source, []).append(judgment)
    return [_preference(source, labels, confidence) for source, labels in by_source.items()]


def _preference(source: str, labels: Sequence[Judgment], confidence: float) -> PositionPreference:
    decided = [label for label in labels if label.outcome != "tie"]
    first_won = sum((label.outcome == "a") == (label.order == "ab") for label in decided)
    share = safe_share(first_won, len(decided))
    low, high = wilson_interval(share, len(decided), confidence)
    orders = tuple(sorted({label.order for label in labels}))
    return PositionPreference(source, len(labels), len(decided), first_won, share, low, high, orders)
