"""Live dialogues: an annotator chats with a run's system, blind, grading every reply.

With one system in the campaign's ``live.systems`` each reply is graded fail / pass /
excellent as the conversation goes; with two, both answer the same user turns side by side
(in a seeded random order) and the annotator compares the whole conversations at the end.
Each step is committed before the page answers: the user's turn and grade before the
model is called, the reply after. The conversation is stored as ordinary records (Prompt,
Responses, Grades, Judgment) with ``source="human:<annotator>"``.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from evalkit.human.instructions import instructions_for
from evalkit.human.live_records import dialogue_records, shown_verdict
from evalkit.human.pages import page, redirect
from evalkit.human.store import Answer

if TYPE_CHECKING:
    from evalkit.human.app import LabelServer

MAX_MESSAGE = 4000


def _new_state(server: LabelServer, annotator: str, dialogue_id: str) -> dict[str, Any]:
    live = server.campaign.live
    assert live is not None
    digest = hashlib.sha256(f"{server.campaign.seed}|live|{annotator}|{dialogue_id}".encode()).hexdigest()
    systems = list(live.systems)
    return {
        "mode": "side" if len(systems) == 2 else "single",
        "systems": systems,
        "order": "ab" if int(digest[:8], 16) % 2 == 0 else "ba",
        "turns": [],
        "outputs": {s: [] for s in systems},
        "errors": {s: None for s in systems},
        "models": {s: "" for s in systems},
        "latency": {s: 0.0 for s in systems},
        "grades": [],
        "verdict": None,
        "note": "",
        "finished": False,
        "step": 0,
        "created": time.time(),
    }


def _shown(state: dict[str, Any]) -> list[str]:
    systems: list[str] = state["systems"]
    return systems if state["order"] == "ab" else list(reversed(systems))


def _context(server: LabelServer, annotator: str, dialogue_id: str, state: dict[str, Any]) -> dict[str, Any]:
    live = server.campaign.live
    assert live is not None
    side = state["mode"] == "side"
    names = ["A", "B"] if side else [""]
    columns = []
    for name, system in zip(names, _shown(state), strict=True):
        outputs = state["outputs"][system]
        exchanges = [
            {
                "user": u,
                "assistant": a,
                "grade": None if side or i >= len(state["grades"]) else state["grades"][i],
            }
            for i, (u, a) in enumerate(zip(state["turns"], outputs, strict=False))
        ]
        speaker = f"Assistant {name}".strip()
        columns.append({"name": speaker, "exchanges": exchanges, "error": state["errors"][system]})
    replies = min(len(state["outputs"][s]) for s in state["systems"])
    failed = any(state["errors"].values())
    grade_help = instructions_for(live.judge)
    compare_help = instructions_for(live.pairwise_judge)
    return {
        "id": dialogue_id,
        "mode": state["mode"],
        "columns": columns,
        "replies": replies,
        "max_turns": live.max_turns,
        "pending_grade": replies - 1 if not side and len(state["grades"]) < replies else None,
        "can_say": replies < live.max_turns and not failed,
        "finished": state["finished"],
        "instructions": compare_help.text if side else grade_help.text,
        "choices": grade_help.choices,
        "pairwise_choices": compare_help.choices,
        "definitions": compare_help.choices if side else grade_help.choices,
        "form": server.signer.sign(annotator, f"live-{dialogue_id}", state["step"], time.time()),
    }


class LiveDialogues:
    """The live routes' state: one lock per dialogue so doubled posts cannot interleave."""

    def __init__(self, server: LabelServer) -> None:
        self.server = server
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, dialogue_id: str) -> asyncio.Lock:
        """The lock of one dialogue."""
        return self._locks.setdefault(dialogue_id, asyncio.Lock())

    def load(self, annotator: str, dialogue_id: str) -> dict[str, Any]:
        """A dialogue of this annotator; 404 for anyone else's or a made-up id."""
        state = self.server.store.dialogue(dialogue_id, annotator)
        if state is None:
            raise HTTPException(404, "There is no such conversation of yours.")
        return state

    def save(self, annotator: str, dialogue_id: str, state: dict[str, Any]) -> None:
        """Commit the state, and the records once there is a reply to store."""
        state["step"] += 1
        store = self.server.store
        store.save_dialogue(dialogue_id, annotator, state)
        if min(len(state["outputs"][s]) for s in state["systems"]) == 0 and not any(state["errors"].values()):
            return
        task_id = f"live-{dialogue_id}"
        bundle = dialogue_records(self.server.campaign, dialogue_id, annotator, state)
        answer = {"grades": state["grades"], "verdict": state["verdict"]}
        rev = store.revision(annotator, task_id)
        store.submit(
            Answer(annotator, task_id, rev, "label", answer, time.time(), state["order"], records=bundle)
        )

    async def say(self, annotator: str, dialogue_id: str, state: dict[str, Any], message: str) -> None:
        """Store the user's turn, then each system's reply."""
        backends = self.server.live_backends()
        state["turns"].append(message)
        self.save(annotator, dialogue_id, state)
        for system in state["systems"]:
            reply = await backends.reply(system, state["turns"], state["outputs"][system])
            if reply.error is not None:
                state["errors"][system] = reply.error
                continue
            state["outputs"][system].append(reply.text)
            state["models"][system] = reply.model_id
            state["latency"][system] += reply.latency_s
        self.save(annotator, dialogue_id, state)


def _apply_grade(
    server: LabelServer, state: dict[str, Any], fields: dict[str, str], pending: int | None
) -> None:
    live = server.campaign.live
    assert live is not None
    if pending is None:
        return
    choice = instructions_for(live.judge).choice(fields.get("grade", ""))
    if choice is None:
        raise HTTPException(422, "Nothing was stored: grade the last reply first (field 'grade').")
    state["grades"].append(choice.code)


def routes(server: LabelServer) -> list[Route]:
    """The live dialogue routes (none when the campaign has no ``live`` section)."""
    if server.campaign.live is None:
        return []
    dialogues = LiveDialogues(server)

    async def start_page(request: Request) -> Response:
        person = server.person(request)
        started = server.store.dialogue_count(person.name)
        form = server.signer.sign(person.name, "live", started, time.time())
        return page("live_start.html.j2", {"form": form})

    async def start(request: Request) -> Response:
        from evalkit.human.app import read_form

        person = server.person(request)
        form = await read_form(request)
        signed = server.signer.verify(form.get("form", ""), person.name, "live")
        if signed is None or signed[0] != server.store.dialogue_count(person.name):
            raise HTTPException(409, "This form was already used or has expired: reload the page.")
        dialogue_id = secrets.token_hex(8)
        server.store.save_dialogue(dialogue_id, person.name, _new_state(server, person.name, dialogue_id))
        return redirect(f"/live/{dialogue_id}")

    async def show(request: Request) -> Response:
        person = server.person(request)
        dialogue_id = request.path_params["dialogue_id"]
        state = dialogues.load(person.name, dialogue_id)
        return page("live.html.j2", _context(server, person.name, dialogue_id, state))

    async def post(request: Request) -> Response:
        from evalkit.human.app import read_form

        person = server.person(request)
        dialogue_id = request.path_params["dialogue_id"]
        fields = await read_form(request)
        async with dialogues.lock(dialogue_id):
            state = dialogues.load(person.name, dialogue_id)
            signed = server.signer.verify(fields.get("form", ""), person.name, f"live-{dialogue_id}")
            if signed is None:
                raise HTTPException(
                    403, "This form is not valid (the server may have restarted): reload the page."
                )
            if signed[0] != state["step"] or state["finished"]:
                raise HTTPException(409, "This was already recorded. Reload the page.")
            await _act(server, dialogues, person.name, dialogue_id, state, fields)
        return redirect(f"/live/{dialogue_id}")

    return [
        Route("/live", start_page, methods=["GET"]),
        Route("/live", start, methods=["POST"]),
        Route("/live/{dialogue_id}", show, methods=["GET"]),
        Route("/live/{dialogue_id}", post, methods=["POST"]),
    ]


async def _act(
    server: LabelServer,
    dialogues: LiveDialogues,
    annotator: str,
    dialogue_id: str,
    state: dict[str, Any],
    fields: dict[str, str],
) -> None:
    context = _context(server, annotator, dialogue_id, state)
    action = fields.get("action") or ("finish" if "choice" in fields else "say")
    if action == "say":
        message = fields.get("message", "").strip()
        if not message or len(message) > MAX_MESSAGE or not context["can_say"]:
            raise HTTPException(422, f"Nothing was stored: write a message of 1 to {MAX_MESSAGE} characters.")
        _apply_grade(server, state, fields, context["pending_grade"])
        await dialogues.say(annotator, dialogue_id, state, message)
        return
    if action != "finish" or context["replies"] == 0:
        raise HTTPException(
            422, "Nothing was stored: field 'action' must be 'say' or 'finish' after a reply."
        )
    if state["mode"] == "side":
        state["verdict"] = shown_verdict(server.campaign, state, fields.get("choice", ""))
    else:
        _apply_grade(server, state, fields, context["pending_grade"])
    state["note"] = fields.get("note", "")[:2000]
    state["finished"] = True
    dialogues.save(annotator, dialogue_id, state)
