"""Loopback HTTP servers for the API generator tests and the throughput benchmark.

``LoopbackServer`` is a small HTTP/1.1 server on 127.0.0.1 running its own event loop in
a background thread, so sync fixtures and async tests can share it. A handler maps each
request to a ``Reply``, which can also misbehave on purpose: wait before answering, drop
the connection, or send a body shorter than its Content-Length. ``ScriptedHandler`` plays
a list of replies in order, then a default one.

Run as a script it serves a fixed OpenAI-style chat completion after a fixed latency
(``python tests/api_helpers.py --latency 0.1``) and prints ``PORT <n>`` once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any


@dataclass
class Reply:
    """What the server does with one request."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop: bool = False
    truncate_to: int | None = None
    raw_body: bytes | None = None

    def payload(self) -> bytes:
        if self.raw_body is not None:
            return self.raw_body
        return b"" if self.body is None else json.dumps(self.body).encode()


@dataclass
class SeenRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[SeenRequest], "Reply | Awaitable[Reply]"]


class ScriptedHandler:
    """Answers with ``script`` in order, then ``default`` for every later request."""

    def __init__(self, script: list[Reply], default: Reply) -> None:
        self.script = list(script)
        self.default = default

    def __call__(self, request: SeenRequest) -> Reply:
        return self.script.pop(0) if self.script else self.default


class LoopbackServer:
    """A keep-alive HTTP/1.1 server on 127.0.0.1 in a background thread; records requests."""

    def __init__(self, handler: Handler, port: int = 0) -> None:
        self.handler = handler
        self.requests: list[SeenRequest] = []
        self._port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._bound_port: int | None = None

    @property
    def port(self) -> int:
        if self._bound_port is None:
            assert self._server is not None
            self._bound_port = int(self._server.sockets[0].getsockname()[1])
        return self._bound_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LoopbackServer:
        self._thread.start()
        start = asyncio.start_server(self._serve, "127.0.0.1", self._port, backlog=1024)
        self._server = asyncio.run_coroutine_threadsafe(start, self._loop).result(10)
        _ = self.port
        return self

    def stop(self) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            while await self._one_exchange(reader, writer):
                pass
        self._writers.discard(writer)
        writer.close()

    async def _one_exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, path, _ = request_line.split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if h)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        seen = SeenRequest(method, path, headers, body)
        self.requests.append(seen)
        reply = self.handler(seen)
        if not isinstance(reply, Reply):
            reply = await reply
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.drop:
            return False
        writer.write(_render(reply))
        await writer.drain()
        return reply.truncate_to is None


def _render(reply: Reply) -> bytes:
    payload = reply.payload()
    reason = HTTPStatus(reply.status).phrase if reply.status in HTTPStatus._value2member_map_ else "Status"
    headers = {"Content-Type": "application/json", "Content-Length": str(len(payload)), **reply.headers}
    head = f"HTTP/1.1 {reply.status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    body = payload if reply.truncate_to is None else payload[: reply.truncate_to]
    return head.encode("latin-1") + b"\r\n" + body


def openai_chat_body(
    text: str = "Hello there.",
    *,
    model: str = "served-model-2025-01-01",
    prompt_tokens: int = 12,
    completion_tokens: int = 3,
    finish_reason: str = "stop",
    logprobs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A chat.completion object as the OpenAI API documents it."""
    choice: dict[str, Any] = {
        "index": 0,
        "message": {"role": "assistant", "content": text},
        "finish_reason": finish_reason,
        "logprobs": None if logprobs is None else {"content": logprobs},
    }
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [choice],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def openai_error_body(message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    """An error object as the OpenAI API documents it."""
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def anthropic_message_body(
    blocks: list[str],
    *,
    model: str = "claude-test-20250101",
    stop_reason: str = "end_turn",
    input_tokens: int = 21,
    output_tokens: int = 7,
) -> dict[str, Any]:
    """A Message object as the Anthropic messages API documents it."""
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text} for text in blocks],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Poll ``url`` until it answers 200, failing early if ``process`` exits."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode} before answering {url}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.25)
    raise RuntimeError(f"server did not answer {url} within {timeout_s:.0f}s")


LOGPROBS_SUFFIX = "-logprobs"


@contextlib.contextmanager
def llama_cpp_server(model_path: Path, alias: str, workdir: Path, timeout_s: float = 120) -> Iterator[str]:
    """Run ``python -m llama_cpp.server`` on a free loopback port; yields its /v1 base URL.

    It serves the model under two names: ``alias`` computes logits for the last token
    only (fast), ``alias + "-logprobs"`` for every token with a short context, which
    llama-cpp-python needs to return log-probabilities and which costs a full vocabulary
    projection per prompt token.
    """
    port = free_port()
    common = {"model": str(model_path), "n_threads": 2, "chat_format": "gemma", "verbose": False, "seed": 0}
    config = {
        "host": "127.0.0.1",
        "port": port,
        "models": [
            {**common, "model_alias": alias, "n_ctx": 2048, "logits_all": False},
            {**common, "model_alias": alias + LOGPROBS_SUFFIX, "n_ctx": 128, "logits_all": True},
        ],
    }
    config_path = workdir / "llama_server.json"
    config_path.write_text(json.dumps(config))
    log_path = workdir / "llama_server.log"
    with log_path.open("wb") as log:
        command = [sys.executable, "-m", "llama_cpp.server", "--config_file", str(config_path)]
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_http(f"http://127.0.0.1:{port}/v1/models", process, timeout_s)
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _fixed_latency_main() -> None:
    parser = argparse.ArgumentParser(description="serve a fixed chat completion after a fixed latency")
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    reply = Reply(body=openai_chat_body("ok"), delay_s=args.latency)
    server = LoopbackServer(lambda _request: reply, port=args.port).start()
    server.requests = _NullList()
    print(f"PORT {server.port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()


class _NullList(list[SeenRequest]):
    """Keeps the long-running benchmark server from holding every request in memory."""

    def append(self, item: SeenRequest) -> None:
        return None


if __name__ == "__main__":
    _fixed_latency_main()
