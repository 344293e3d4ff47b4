"""The blind labeling web app (Starlette): sign-in links, items, answers, skip and go back.

Every page needs a valid token (held in an HttpOnly cookie after the sign-in link), every
post a signed form for that annotator, that item and that revision of their answer, so a
cross-site post, a replayed form or an item outside the annotator's queue stores nothing
and gets a clear 4xx status. Pages never show a system name, model id or judge verdict.
"""

from __future__ import annotations

import time
import urllib.parse
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from evalkit.human import admin, item_view, live
from evalkit.human.answers import (
    FormSigner,
    InvalidAnswerError,
    Parsed,
    clean_note,
    parse_grade,
    parse_pairwise,
)
from evalkit.human.campaign import Campaign
from evalkit.human.live_backend import LiveBackends
from evalkit.human.pages import HERE, message, page, redirect, same_origin
from evalkit.human.store import Answer, LabelStore, Person, StaleAnswerError
from evalkit.human.tasks import Catalog, Task
from evalkit.runner.rundir import RunDir

ANNOTATOR_COOKIE = "evalkit_label"
ADMIN_COOKIE = "evalkit_admin"
MAX_BODY = 64 * 1024
MAX_FIELDS = 64
FORM_TYPE = "application/x-www-form-urlencoded"


class LabelServer:
    """State shared by the routes: the run's items, the store and the form signer."""

    def __init__(self, run_path: Path, campaign: Campaign, *, fsync: bool = False) -> None:
        self.run_path = run_path
        self.campaign = campaign
        self.catalog = Catalog(campaign, RunDir(run_path, create=False).load_records())
        self.store = LabelStore(run_path, fsync=fsync)
        self.signer = FormSigner()
        self._queues: dict[tuple[str, tuple[str, ...]], list[Task]] = {}
        self._queue_ids: dict[tuple[str, tuple[str, ...]], set[str]] = {}
        self._live: LiveBackends | None = None

    def live_backends(self) -> LiveBackends:
        """The run's systems as live backends, built on first use."""
        if self._live is None:
            self._live = LiveBackends(RunDir(self.run_path, create=False).read_meta())
        return self._live

    def person(self, request: Request, role: str = "annotator") -> Person:
        """Who is asking; 401 without a token, 403 with an unknown one or the wrong role."""
        token = request.cookies.get(ADMIN_COOKIE if role == "admin" else ANNOTATOR_COOKIE)
        if not token:
            raise HTTPException(401, "Open your personal link to sign in.")
        found = self.store.identify(token)
        if found is None or found.role != role:
            raise HTTPException(403, "This link is not valid (any more); ask for a new one.")
        return found

    def _queue_key(self, annotator: str) -> tuple[str, tuple[str, ...]]:
        key = (annotator, tuple(self.store.annotators()))
        if key not in self._queues:
            self._queues[key] = self.catalog.queue(annotator, key[1])
            self._queue_ids[key] = {t.id for t in self._queues[key]}
        return key

    def queue(self, annotator: str) -> list[Task]:
        """The annotator's items (cached per set of annotators)."""
        return self._queues[self._queue_key(annotator)]

    def in_queue(self, annotator: str, task_id: str) -> bool:
        """Whether the item is in the annotator's queue."""
        return task_id in self._queue_ids[self._queue_key(annotator)]

    def next_task(self, annotator: str) -> Task | None:
        """The first item in the annotator's queue they have not answered or skipped."""
        answered = self.store.answered(annotator)
        return next((t for t in self.queue(annotator) if t.id not in answered), None)

    def own_task(self, annotator: str, task_id: str) -> Task:
        """An item in the annotator's queue; 404 for anything else (another's item, a made-up id)."""
        task = self.catalog.tasks.get(task_id)
        if task is None or not self.in_queue(annotator, task_id):
            raise HTTPException(404, "There is no such item in your queue.")
        return task


async def read_form(request: Request) -> dict[str, str]:
    """A posted URL-encoded form, read with a size limit after the same-origin check.

    Raises:
        HTTPException: 403 cross-site, 413 too large, 415 not a form, 400 unreadable.

    """
    if not same_origin(request):
        raise HTTPException(403, "Cross-site form posts are refused.")
    if request.headers.get("content-type", "").split(";")[0].strip() != FORM_TYPE:
        raise HTTPException(415, f"Send the form as {FORM_TYPE}.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:  # checked while reading: a missing or false length cannot get past
            raise HTTPException(413, "The form is too large.")
    try:
        pairs = urllib.parse.parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise HTTPException(400, "The form could not be read.") from exc
    fields: dict[str, str] = {}
    for key, value in pairs:
        fields.setdefault(key, value)  # a repeated field counts once: the first, as a browser sends it
    return fields


def routes(server: LabelServer) -> list[Route]:
    """The annotator routes."""

    async def start(request: Request) -> Response:
        token = request.query_params.get("token", "")
        found = server.store.identify(token) if token else None
        if found is None:
            return message("Link not valid", "This link is not valid (any more); ask for a new one.", 403)
        response = redirect("/admin" if found.role == "admin" else "/")
        cookie = ADMIN_COOKIE if found.role == "admin" else ANNOTATOR_COOKIE
        response.set_cookie(cookie, token, httponly=True, samesite="lax", path="/")
        return response

    async def home(request: Request) -> Response:
        person = server.person(request)
        task = server.next_task(person.name)
        if task is not None:
            return redirect(f"/item/{task.id}")
        done = len(server.queue(person.name))
        return page("done.html.j2", {"count": done, "live": server.campaign.live is not None})

    async def show(request: Request) -> Response:
        person = server.person(request)
        task = server.own_task(person.name, request.path_params["task_id"])
        return page("item.html.j2", item_view.context(server, person.name, task))

    async def answer(request: Request) -> Response:
        person = server.person(request)
        task = server.own_task(person.name, request.path_params["task_id"])
        form = await read_form(request)
        signed = server.signer.verify(form.get("form", ""), person.name, task.id)
        if signed is None:
            raise HTTPException(
                403, "This form is not valid (the server may have restarted): reload the page."
            )
        rev, shown_at = signed
        if rev != server.store.revision(person.name, task.id):
            raise HTTPException(409, "This answer was already recorded. Reload the page to change it.")
        stored = _answer(server, person.name, task, form, rev, shown_at)
        try:
            server.store.submit(stored)
        except StaleAnswerError as exc:
            raise HTTPException(
                409, "This answer was already recorded. Reload the page to change it."
            ) from exc
        following = server.next_task(person.name)
        return redirect(f"/item/{following.id}" if following else "/")

    async def script(request: Request) -> Response:
        return FileResponse(HERE / "static" / "label.js", media_type="text/javascript")

    async def style(request: Request) -> Response:
        return FileResponse(HERE / "static" / "label.css", media_type="text/css")

    return [
        Route("/start", start),
        Route("/", home),
        Route("/item/{task_id}", show, methods=["GET"]),
        Route("/item/{task_id}", answer, methods=["POST"]),
        Route("/static/label.js", script),
        Route("/static/label.css", style),
    ]


def _answer(
    server: LabelServer, annotator: str, task: Task, fields: dict[str, str], rev: int, shown_at: float
) -> Answer:
    action = fields.get("action", "label")
    now = time.time()
    order = server.catalog.shown_order(annotator, task)
    if action == "skip":
        if rev > 0:
            raise HTTPException(409, "This item already has your answer; change it instead of skipping.")
        return Answer(annotator, task.id, rev, "skip", {}, now, shown_order=order, shown_at=shown_at)
    if action != "label":
        raise HTTPException(422, "field 'action' must be 'label' or 'skip'")
    try:
        note = clean_note(fields.get("note", ""))
        parsed: Parsed = (
            parse_pairwise(task, annotator, order, fields, note)
            if task.kind == "pairwise"
            else parse_grade(task, annotator, item_view.turn_count(server, task), fields, note)
        )
    except InvalidAnswerError as exc:
        raise HTTPException(422, f"Nothing was stored: {exc}.") from exc
    return Answer(
        annotator,
        task.id,
        rev,
        "label",
        parsed.answer,
        now,
        shown_order=order,
        note=note,
        check_kind=task.check,
        check_correct=parsed.check_correct,
        records=parsed.records,
        shown_at=shown_at,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return message("Not done", exc.detail, exc.status_code, link="/")


def create_app(run_path: Path, campaign: Campaign | None = None, *, fsync: bool = False) -> Starlette:
    """The labeling app for a run folder (``fsync``: flush every answer to disk, see LabelStore).

    Raises:
        ConfigError: The folder is not a run, or the campaign does not fit the run.

    """
    server = LabelServer(run_path, campaign or Campaign(), fsync=fsync)
    app = Starlette(
        routes=[*routes(server), *admin.routes(server), *live.routes(server)],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.server = server
    return app


create_label_app = create_app
"""The labeling app for a run folder (the public name of ``create_app``)."""
