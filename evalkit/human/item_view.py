"""What the item page shows: the request, the answers in the annotator's order, the choices.

Only texts and opaque ids reach the template: no system name, model id, prompt id or
verdict, so nothing in the page source can unblind an annotator.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from evalkit.human.instructions import Choice, instructions_for
from evalkit.human.tasks import Task
from evalkit.judging.spec import JudgeSpec
from evalkit.records import Response

if TYPE_CHECKING:
    from evalkit.human.app import LabelServer


def _responses(server: LabelServer, task: Task) -> list[Response]:
    catalog = server.catalog
    if task.check == "attention" and task.distractor is not None:
        return [
            catalog.response(task.prompt_id, task.systems[0]),
            catalog.response(task.distractor, task.systems[0]),
        ]
    return [catalog.response(task.prompt_id, system) for system in task.systems]


def turn_count(server: LabelServer, task: Task) -> int:
    """How many turns the item's prompt has (dialogues are graded per turn)."""
    return len(server.catalog.prompts[task.prompt_id].turns)


def _exchanges(turns: tuple[str, ...], response: Response) -> list[dict[str, str]]:
    return [
        {"user": user, "assistant": answer} for user, answer in zip(turns, response.outputs, strict=False)
    ]


def context(server: LabelServer, annotator: str, task: Task) -> dict[str, Any]:
    """Template variables for one item page."""
    prompt = server.catalog.prompts[task.prompt_id]
    responses = _responses(server, task)
    if server.catalog.shown_order(annotator, task) == "ba":
        responses.reverse()
    store = server.store
    previous = store.latest(annotator, task.id)
    queue = server.queue(annotator)
    answered = store.answered(annotator)
    recent = (t for t in store.recent(annotator) if t != task.id and server.in_queue(annotator, t))
    back = next(recent, None)
    rev = previous.rev + 1 if previous is not None else 0
    instructions = instructions_for(task.judge)
    return {
        "task_id": task.id,
        "kind": task.kind,
        "turns": list(prompt.turns),
        "dialogues": [_exchanges(prompt.turns, r) for r in responses],
        "names": ["A", "B"] if task.kind == "pairwise" else ["Answer"],
        "instructions": instructions.text,
        "choices": instructions.choices,
        "aspects": instructions.judge.aspects,
        "aspect_groups": _aspect_groups(instructions.judge, previous.answer if previous is not None else {}),
        "per_turn": task.kind == "grade" and len(prompt.turns) > 1,
        "previous": previous.answer if previous is not None and previous.status == "label" else None,
        "previous_note": previous.note if previous is not None else "",
        "done": sum(1 for t in queue if t.id in answered),
        "total": len(queue),
        "back": back,
        "form": server.signer.sign(annotator, task.id, rev, time.time()),
    }


def _aspect_groups(spec: JudgeSpec, previous: dict[str, Any]) -> list[dict[str, Any]]:
    chosen = previous.get("aspects", {})
    groups = []
    for aspect in spec.aspects:
        values = range(aspect.minimum, aspect.maximum + 1)
        choices = [Choice(code=str(v), key=str(v), title=str(v), definition="") for v in values]
        before = chosen.get(aspect.name)
        groups.append(
            {
                "field": f"aspect-{aspect.name}",
                "legend": f"{aspect.name}: {aspect.description}",
                "choices": choices,
                "chosen": str(int(before)) if before is not None else None,
            }
        )
    return groups
