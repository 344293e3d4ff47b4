"""The admin page: progress per annotator, agreement so far, gold accuracy, time per label.

"Agreement so far" is a quick live figure over the overlap items, LIMA's tie-discounted
accuracy for pairwise items (1 when two people agree, 0.5 when exactly one said "neither",
0 otherwise) and the exact-match rate for grades; the report computes the full agreement
statistics from the stored records.
"""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from evalkit.human.pages import page
from evalkit.human.store import Answer

if TYPE_CHECKING:
    from evalkit.human.app import LabelServer


def tie_discounted(first: str, second: str) -> float:
    """LIMA's agreement of two pairwise outcomes."""
    if first == second:
        return 1.0
    return 0.5 if "tie" in (first, second) else 0.0


@dataclass(frozen=True)
class Agreement:
    """Mean agreement over all pairs of annotators on shared items, and how many pairs."""

    value: float | None
    pairs: int
    items: int


def overlap_agreement(answers: Sequence[Answer], kinds: Mapping[str, str]) -> dict[str, Agreement]:
    """Agreement between annotators on items two or more of them labeled, per item kind.

    Args:
        answers: Current answers (labels and skips) of everyone.
        kinds: Item id -> "pairwise" or "grade".

    """
    by_item: dict[str, list[Answer]] = defaultdict(list)
    for answer in answers:
        if answer.status == "label" and answer.check_kind != "attention":
            by_item[answer.task_id].append(answer)
    scores: dict[str, list[float]] = {"pairwise": [], "grade": []}
    items: dict[str, int] = {"pairwise": 0, "grade": 0}
    for task_id, labels in by_item.items():
        kind = kinds.get(task_id)
        if kind is None or len(labels) < 2:
            continue
        items[kind] += 1
        for one, two in itertools.combinations(labels, 2):
            if kind == "pairwise":
                scores[kind].append(tie_discounted(one.answer["outcome"], two.answer["outcome"]))
            else:
                scores[kind].append(float(one.answer == two.answer))
    return {
        kind: Agreement(statistics.fmean(values) if values else None, len(values), items[kind])
        for kind, values in scores.items()
    }


def annotator_rows(server: LabelServer) -> list[dict[str, Any]]:
    """One row per annotator: progress, checks and time per label."""
    rows = []
    for name in server.store.annotators():
        current = server.store.current(name)
        labels = [a for a in current if a.status == "label" and a.task_id in server.catalog.tasks]
        times = [a.answered_at - a.shown_at for a in labels if a.shown_at is not None]
        rows.append(
            {
                "name": name,
                "assigned": len(server.queue(name)),
                "labeled": len(labels),
                "skipped": sum(1 for a in current if a.status == "skip"),
                "live": sum(1 for a in current if a.task_id.startswith("live-")),
                "gold": _accuracy(labels, "gold"),
                "attention": _accuracy(labels, "attention"),
                "median_seconds": f"{statistics.median(times):.1f}" if times else "–",
            }
        )
    return rows


def _accuracy(labels: Sequence[Answer], kind: str) -> str:
    scored = [a.check_correct for a in labels if a.check_kind == kind and a.check_correct is not None]
    if not scored:
        return "–"
    return f"{sum(scored)}/{len(scored)} ({100 * sum(scored) / len(scored):.0f}%)"


def routes(server: LabelServer) -> list[Route]:
    """The admin route."""

    async def admin(request: Request) -> Response:
        server.person(request, role="admin")
        kinds = {task_id: task.kind for task_id, task in server.catalog.tasks.items()}
        agreement = overlap_agreement(server.store.current(), kinds)
        context = {
            "rows": annotator_rows(server),
            "agreement": agreement,
            "items": len(server.catalog.tasks),
            "overlap": sum(1 for t in server.catalog.tasks.values() if t.overlap),
            "checks": sum(1 for t in server.catalog.tasks.values() if t.check),
            "answers": server.store.count_answers(),
            "campaign": server.campaign.name,
        }
        return page("admin.html.j2", context)

    return [Route("/admin", admin)]
