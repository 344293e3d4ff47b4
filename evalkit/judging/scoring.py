"""Turning pairwise labels into scores, and scale orders for grade reports.

Five-way (and any weighted) pairwise labels map two ways:

* to an Outcome through the label's ``outcome`` (first / second / tie, in shown terms,
  then canonical a / b / tie by the order): "much better" and "better" both win;
* to a weighted score through the label's ``weight``: the score credited to the
  response shown first, in [0, 1]. model_a's score is ``weight`` in order "ab" and
  ``1 - weight`` in order "ba". With the library's pairwise-5way weights
  (1.0 / 0.75 / 0.5 / 0.25 / 0.0), "A>B" in order "ba" gives model_a 0.25.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from evalkit.judging.spec import JudgeSpec
from evalkit.records import Judgment, Outcome


def canonical_score(judgment: Judgment, spec: JudgeSpec) -> float | None:
    """model_a's weighted score in [0, 1] from the label the judge wrote; None when unparsed."""
    if judgment.label is None:
        return None
    weight = spec.label(judgment.label).shown_weight
    return weight if judgment.order == "ab" else 1.0 - weight


def expected_score(probabilities: Mapping[Outcome, float]) -> float:
    """model_a's expected score from canonical outcome probabilities (a win 1, tie 0.5)."""
    return probabilities.get("a", 0.0) + 0.5 * probabilities.get("tie", 0.0)


def scale_label_orders(specs: Iterable[JudgeSpec]) -> dict[str, tuple[str, ...]]:
    """Grade scale name -> labels in scale order, for ``grade_distributions(label_order=...)``."""
    return {spec.scale_name: spec.label_order for spec in specs if spec.kind == "grade" and spec.labels}
