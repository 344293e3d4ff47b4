"""A loopback stand-in for the OpenAI Batch and Anthropic Message Batches endpoints.

The real ``openai`` and ``anthropic`` SDKs talk to it through their base URL
(``http://127.0.0.1:PORT/v1`` for OpenAI, ``http://127.0.0.1:PORT`` for Anthropic). It
serves file upload and download, batch create / retrieve / cancel / list, result and error
files, message batch create / retrieve / list / cancel / results, and the online chat
and messages endpoints with the same answers, so a batch run and an online run can be
compared. A ``Behaviour`` sets how long a batch takes, which requests fail, and which
batches expire; ``counters`` say what clients submitted. Uploaded and result files live on
disk and are streamed, so a million requests fit.

Answers are a deterministic function of the conversation: one of ``Behaviour.replies``
chosen by a hash of the messages.

Run as a module it serves until killed and prints ``PORT <n>`` once listening
(``python -m tests.batch_standin [--processing-s 0.5]`` from the repository root).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import signal
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse

from tests.batch_standin_wire import (
    StandInBatch,
    anthropic_view,
    chat_completion,
    message,
    openai_view,
    result_line,
)


@dataclass
class Behaviour:
    """How the stand-in treats batches.

    Attributes:
        processing_s: Seconds from creation until a batch has ended.
        fail_modulo: Requests whose hash is 0 modulo this fail (0: none fail) ...
        fail_first: ... on their first this many submissions (a large number: always).
        expire_batches: Ordinals (1-based, in creation order) of batches that expire with
            only every other request done.
        replies: The answers, chosen by a hash of the conversation.

    """

    processing_s: float = 0.0
    fail_modulo: int = 0
    fail_first: int = 1
    expire_batches: tuple[int, ...] = ()
    replies: tuple[str, ...] = ("A", "B", "N")


class StandIn:
    """The endpoints' state: files, batches, counters; an ASGI app in ``app``."""

    def __init__(self, folder: Path, behaviour: Behaviour | None = None) -> None:
        self.folder = folder
        self.behaviour = behaviour or Behaviour()
        self.files: dict[str, Path] = {}
        self.batches: dict[str, StandInBatch] = {}
        self.counters: Counter[str] = Counter()
        self.submissions: Counter[str] = Counter()  # custom_id -> times submitted in a batch
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.app = self._routes()

    def snapshot(self) -> dict[str, Any]:
        """Counters, plus the most times any one request was submitted."""
        return {**self.counters, "max_submissions_per_request": max(self.submissions.values(), default=0)}

    def _routes(self) -> FastAPI:
        app = FastAPI()
        app.post("/v1/files")(self.upload)
        app.get("/v1/files/{file_id}/content")(self.file_content)
        app.post("/v1/batches")(self.openai_create)
        app.get("/v1/batches")(self.openai_list)
        app.get("/v1/batches/{batch_id}")(self.openai_retrieve)
        app.post("/v1/batches/{batch_id}/cancel")(self.cancel)
        app.post("/v1/chat/completions")(self.chat)
        app.post("/v1/messages/batches")(self.anthropic_create)
        app.get("/v1/messages/batches")(self.anthropic_list)
        app.get("/v1/messages/batches/{batch_id}")(self.anthropic_retrieve)
        app.post("/v1/messages/batches/{batch_id}/cancel")(self.cancel)
        app.get("/v1/messages/batches/{batch_id}/results")(self.anthropic_results)
        app.post("/v1/messages")(self.messages)
        app.get("/_standin/counters")(self.snapshot)
        return app

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    async def upload(self, file: UploadFile, purpose: str = "batch") -> dict[str, Any]:
        file_id = self._new_id("file-")
        path = self.folder / file_id
        with path.open("wb") as out:
            while chunk := await file.read(1 << 20):
                out.write(chunk)
        self.files[file_id] = path
        self.counters["files_uploaded"] += 1
        return {
            "id": file_id,
            "object": "file",
            "bytes": path.stat().st_size,
            "created_at": int(time.time()),
            "filename": file.filename or "input.jsonl",
            "purpose": purpose,
            "status": "processed",
        }

    def file_content(self, file_id: str) -> Any:
        if file_id not in self.files:
            return JSONResponse({"error": {"message": f"no file {file_id}"}}, status_code=404)
        return FileResponse(self.files[file_id], media_type="application/octet-stream")

    def _register(self, kind: str, path: Path, metadata: dict[str, str]) -> StandInBatch:
        with path.open("rb") as lines:
            ids = [json.loads(line)["custom_id"] for line in lines if line.strip()]
        with self._lock:
            self.submissions.update(ids)
            self.counters["batches_created"] += 1
            self.counters["requests_submitted"] += len(ids)
            ordinal = self.counters["batches_created"]
        batch_id = self._new_id("batch_" if kind == "openai" else "msgbatch_")
        batch = StandInBatch(batch_id, kind, ordinal, path, time.time(), metadata, len(ids))
        self.batches[batch_id] = batch
        return batch

    async def openai_create(self, request: Request) -> Any:
        body = await request.json()
        if body.get("input_file_id") not in self.files:
            return JSONResponse({"error": {"message": "unknown input_file_id"}}, status_code=400)
        batch = self._register("openai", self.files[body["input_file_id"]], body.get("metadata") or {})
        return self._openai_view(batch)

    async def anthropic_create(self, request: Request) -> Any:
        body = await request.json()
        path = self.folder / self._new_id("anthropic-input-")
        with path.open("w", encoding="utf-8") as out:
            for entry in body["requests"]:
                out.write(json.dumps(entry) + "\n")
        return self._anthropic_view(self._register("anthropic", path, {}))

    def _advance(self, batch: StandInBatch) -> None:
        """End a batch once its processing time has passed (or it was cancelled)."""
        if batch.status not in {"in_progress", "cancelling"}:
            return
        if not batch.cancelled and time.time() - batch.created < self.behaviour.processing_s:
            return
        expire = batch.ordinal in self.behaviour.expire_batches
        batch.status = "cancelled" if batch.cancelled else "expired" if expire else "completed"
        self._write_results(batch)

    def _outcome(self, custom_id: str, index: int, batch: StandInBatch) -> str:
        if batch.cancelled:
            return "canceled"
        if batch.ordinal in self.behaviour.expire_batches and index % 2 == 1:
            return "expired"
        modulo = self.behaviour.fail_modulo
        digest = int(hashlib.sha256(custom_id.encode()).hexdigest()[:8], 16)
        failing = modulo and digest % modulo == 0 and self.submissions[custom_id] <= self.behaviour.fail_first
        return "errored" if failing else "succeeded"

    def _write_results(self, batch: StandInBatch) -> None:
        batch.output_path = batch.input_path.with_suffix(".out")
        batch.error_path = batch.input_path.with_suffix(".err")
        counts: Counter[str] = Counter()
        with (
            batch.input_path.open("rb") as lines,
            batch.output_path.open("w", encoding="utf-8") as out,
            batch.error_path.open("w", encoding="utf-8") as err,
        ):
            for index, line in enumerate(lines):
                entry = json.loads(line)
                outcome = self._outcome(entry["custom_id"], index, batch)
                counts[outcome] += 1
                writer = out if outcome == "succeeded" or batch.kind == "anthropic" else err
                writer.write(
                    json.dumps(result_line(batch.kind, entry, outcome, index, self.behaviour.replies)) + "\n"
                )
        batch.counts = dict(counts)
        if batch.kind == "openai":
            self.files[batch.output_path.name] = batch.output_path
            self.files[batch.error_path.name] = batch.error_path

    def _openai_view(self, batch: StandInBatch) -> dict[str, Any]:
        self._advance(batch)
        return openai_view(batch)

    def _anthropic_view(self, batch: StandInBatch) -> dict[str, Any]:
        self._advance(batch)
        return anthropic_view(batch)

    def openai_retrieve(self, batch_id: str) -> Any:
        self.counters["batches_retrieved"] += 1
        found = self.batches.get(batch_id)
        return self._openai_view(found) if found else JSONResponse({"error": {}}, status_code=404)

    def anthropic_retrieve(self, batch_id: str) -> Any:
        self.counters["batches_retrieved"] += 1
        found = self.batches.get(batch_id)
        return self._anthropic_view(found) if found else JSONResponse({"error": {}}, status_code=404)

    def _newest_first(self, kind: str, after: str | None, limit: int) -> tuple[list[StandInBatch], bool]:
        self.counters["batches_listed"] += 1
        ordered = [b for b in reversed(self.batches.values()) if b.kind == kind]
        if after:
            ids = [b.id for b in ordered]
            ordered = ordered[ids.index(after) + 1 :] if after in ids else []
        return ordered[:limit], len(ordered) > limit

    def openai_list(self, after: str | None = None, limit: int = 20) -> dict[str, Any]:
        page, more = self._newest_first("openai", after, limit)
        views = [self._openai_view(b) for b in page]
        return {
            "object": "list",
            "data": views,
            "has_more": more,
            "first_id": views[0]["id"] if views else None,
            "last_id": views[-1]["id"] if views else None,
        }

    def anthropic_list(self, after_id: str | None = None, limit: int = 20) -> dict[str, Any]:
        page, more = self._newest_first("anthropic", after_id, limit)
        views = [self._anthropic_view(b) for b in page]
        return {
            "data": views,
            "has_more": more,
            "first_id": views[0]["id"] if views else None,
            "last_id": views[-1]["id"] if views else None,
        }

    def cancel(self, batch_id: str) -> Any:
        batch = self.batches.get(batch_id)
        if batch is None:
            return JSONResponse({"error": {}}, status_code=404)
        self.counters["batches_cancelled"] += 1
        if batch.status == "in_progress":
            batch.cancelled, batch.status = True, "cancelling"
        return self._openai_view(batch) if batch.kind == "openai" else self._anthropic_view(batch)

    def anthropic_results(self, batch_id: str) -> Any:
        batch = self.batches.get(batch_id)
        if batch is None or batch.output_path is None:
            return JSONResponse({"error": {"message": "not ended"}}, status_code=404)
        return FileResponse(batch.output_path, media_type="application/binary")

    async def chat(self, request: Request) -> dict[str, Any]:
        self.counters["online_requests"] += 1
        return chat_completion(await request.json(), self.behaviour.replies, self.counters["online_requests"])

    async def messages(self, request: Request) -> dict[str, Any]:
        self.counters["online_requests"] += 1
        return message(await request.json(), self.behaviour.replies, self.counters["online_requests"])


class RunningStandIn:
    """A StandIn served by uvicorn on 127.0.0.1 in a background thread."""

    def __init__(self, behaviour: Behaviour | None = None, folder: Path | None = None) -> None:
        self._tmp = None if folder else tempfile.TemporaryDirectory(prefix="standin-")
        self.standin = StandIn(folder or Path(self._tmp.name), behaviour)  # type: ignore[union-attr]
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(self.standin.app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> RunningStandIn:
        self._thread.start()
        deadline = time.time() + 10
        while not self._server.started and time.time() < deadline:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        if self._tmp is not None:
            self._tmp.cleanup()


def _serve_forever(args: argparse.Namespace) -> None:
    behaviour = Behaviour(processing_s=args.processing_s)
    # SIGTERM ends the wait below through SystemExit, so the stand-in's files are removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with RunningStandIn(behaviour) as running:
        print(f"PORT {running.port}", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processing-s", type=float, default=0.0)
    _serve_forever(parser.parse_args())
