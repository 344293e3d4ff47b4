"""Served vLLM backend: ``vllm-server/<model>`` starts vLLM's OpenAI-compatible server.

The server runs as a subprocess of this Python on 127.0.0.1 and a free port, and is
stopped by :meth:`VllmServerGenerator.aclose` (terminate, then kill after a grace
period; also at interpreter exit, so none is left behind). Requests go through the
OpenAI-compatible generator (evalkit.generators.api.openai_api). ``options.url`` attaches
to a server that is already running instead of starting one.

The model part of the spec resolves as for ``vllm/`` (the packaged alias, a directory, a
GGUF file or a name). Options: the engine options of ``vllm/`` (sent as command-line
flags), ``server_args`` (a list of further flags), ``startup_timeout_s`` (default 900),
``url``, and the client options in :data:`CLIENT_OPTIONS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from pydantic import Field, StrictFloat, StrictInt, StrictStr, create_model

from evalkit.errors import EvalkitError, MissingDependencyError
from evalkit.generators.api.openai_api import create_compatible
from evalkit.generators.base import Capabilities, Completion, CompletionRequest, Generator, ScoredContinuation
from evalkit.generators.options import ApiOptions, ProviderOptions, parse_options
from evalkit.generators.vllm.config import (
    ENGINE_FIELDS,
    ENGINE_OPTIONS,
    OUTPUT_CHANGING,
    VllmOptions,
    resolve_model,
)
from evalkit.generators.vllm.scoring import score_on_server

CLIENT_OPTIONS = (
    "timeout", "max_concurrency", "max_attempts", "retry_initial_wait", "retry_max_wait", "http_transport",
    "api_key_env", "circuit_breaker",
)  # fmt: skip
SERVER_OPTIONS = ("url", "server_args", "startup_timeout_s")


class _ServerFields(ProviderOptions):
    url: StrictStr | None = Field(None, description="the URL of a vLLM server that is already running")
    server_args: list[StrictStr] = Field(default_factory=list, description="a list of command-line flags")
    startup_timeout_s: StrictInt | StrictFloat = Field(900, gt=0, description="a number of seconds > 0")


_CLIENT_FIELDS: dict[str, Any] = {
    name: (ApiOptions.model_fields[name].annotation, ApiOptions.model_fields[name]) for name in CLIENT_OPTIONS
}
Options: type[ProviderOptions] = create_model(
    "Options", __base__=_ServerFields, **_CLIENT_FIELDS, **ENGINE_FIELDS
)
"""Options of ``vllm-server/`` models: engine options (as flags), server options, client options."""
LOG_TAIL_LINES = 30


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_command(model: str, served_name: str, port: int, engine_args: Mapping[str, Any]) -> list[str]:
    """The command line that serves ``model`` under ``served_name`` on 127.0.0.1:``port``."""
    command = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model]
    command += ["--served-model-name", served_name, "--host", "127.0.0.1", "--port", str(port)]
    for name, value in engine_args.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            command.append(flag if value else "--no-" + flag[2:])
        else:
            command += [flag, str(value)]
    return command


class ServerProcess:
    """A vLLM server subprocess with its log file; stops itself at interpreter exit."""

    def __init__(self, command: Sequence[str], port: int, env: Mapping[str, str]) -> None:
        self.port = port
        self.healthy = False
        self.log_path = Path(tempfile.mkstemp(prefix="evalkit-vllm-server-", suffix=".log")[1])
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                list(command), stdout=log, stderr=subprocess.STDOUT, env=dict(env), start_new_session=True
            )
        self._finalizer = weakref.finalize(self, _stop_group, self.process, 10.0)

    @property
    def base_url(self) -> str:
        """The server's OpenAI-compatible root, e.g. http://127.0.0.1:8123/v1."""
        return f"http://127.0.0.1:{self.port}/v1"

    def wait_healthy(self, timeout_s: float) -> None:
        """Block until GET /health answers 200; raise with the log's tail if it exits or times out."""
        deadline = time.monotonic() + timeout_s
        url = f"http://127.0.0.1:{self.port}/health"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EvalkitError(self._failure(f"exited with status {self.process.returncode}"))
            try:
                if httpx.get(url, timeout=2.0).status_code == 200:
                    self.healthy = True
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise EvalkitError(self._failure(f"was not healthy after {timeout_s:g}s (option startup_timeout_s)"))

    def _failure(self, what: str) -> str:
        return f"the vLLM server {what}; last lines of its log ({self.log_path}):\n{self.log_tail()}"

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines the server wrote."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace_s: float = 20.0) -> None:
        """Terminate the server and its engine processes; kill them if they outlive ``grace_s``.

        The log is deleted after a server that came up; one that never did keeps it for the error.
        """
        self._finalizer.detach()
        _stop_group(self.process, grace_s)
        if self.healthy:
            self.log_path.unlink(missing_ok=True)


def _stop_group(process: subprocess.Popen[bytes], grace_s: float) -> None:
    if process.poll() is not None:
        return
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait(timeout=grace_s)
    _signal_group(process, signal.SIGKILL)  # engine workers left in the group after the server exited


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


class VllmServerGenerator(Generator):
    """Generator that talks to a vLLM server it started (or one it was pointed at)."""

    capabilities = Capabilities(
        structured_output=True, logprobs=True, raw_prompt=True, local=True, scores_continuation=True
    )

    def __init__(
        self,
        spec: str,
        locate: Callable[[], str],
        options: Mapping[str, Any],
        fingerprint: Mapping[str, Any],
    ) -> None:
        super().__init__(spec, max_concurrency=int(options.get("max_concurrency", 64)))
        self._locate = locate
        self.served_name = str(fingerprint["model_name"])
        self.fingerprint = dict(fingerprint)
        self.engine_args = {k: v for k, v in options.items() if k in ENGINE_OPTIONS}
        self.url = _api_root(options["url"]) if options.get("url") else None
        self.server_args = [str(a) for a in options.get("server_args", [])]
        self.startup_timeout_s = float(options.get("startup_timeout_s", 900))
        self.client_options = {k: v for k, v in options.items() if k in CLIENT_OPTIONS}
        self.server: ServerProcess | None = None
        self._client: Generator | None = None
        self._base_url = ""
        self._start_lock = threading.Lock()

    def identity(self) -> dict[str, Any]:
        """Spec, model fingerprint and the engine options that change outputs (never the URL)."""
        args = self.engine_args
        return {"spec": self.spec, **self.fingerprint, **{k: args[k] for k in OUTPUT_CHANGING if k in args}}

    async def complete(self, request: CompletionRequest) -> Completion:
        """Complete one request through the server's OpenAI-compatible API."""
        return await (await self._ready()).complete(request)

    async def complete_many(self, requests: Sequence[CompletionRequest]) -> list[Completion | BaseException]:
        """Send every request concurrently; the server's engine batches them."""
        return await (await self._ready()).complete_many(requests)

    async def score_continuation(self, request: CompletionRequest, continuation: str) -> ScoredContinuation:
        """Rank and log-probability of each token of ``continuation``, from the server's prompt_logprobs."""
        await self._ready()
        timeout = float(self.client_options.get("timeout", 120.0))
        return await score_on_server(self._base_url, self.served_name, request, continuation, timeout)

    async def _ready(self) -> Generator:
        if self._client is None:
            base_url = self.url if self.url else await asyncio.to_thread(self._start_server)
            self._base_url = base_url
            options = {**self.client_options, "base_url": base_url, "model": self.served_name}
            options.setdefault("max_concurrency", self.max_concurrency)
            self._client = create_compatible(f"vllm/{self.served_name}", options)
        return self._client

    def _start_server(self) -> str:
        with self._start_lock:
            if self.server is None:
                port = free_port()
                command = server_command(self._locate(), self.served_name, port, self._engine_args())
                command += self.server_args
                server = ServerProcess(command, port, _server_env())
                server.wait_healthy(self.startup_timeout_s)
                self.server = server
            return self.server.base_url

    def _engine_args(self) -> dict[str, Any]:
        from evalkit.generators.vllm.runtime import engine_defaults_for_cpu

        return engine_defaults_for_cpu(dict(self.engine_args))

    async def aclose(self) -> None:
        """Close the client and stop the server this generator started. Safe to call twice."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        server, self.server = self.server, None
        if server is not None:
            await asyncio.to_thread(server.stop)


def _server_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
    return env


def create(name: str, options: Mapping[str, Any]) -> Generator:
    """Factory for ``vllm-server/<model>``; the server starts on the first request.

    Raises:
        MissingDependencyError: vllm is not installed (and no ``url`` was given).
        ConfigError: Unknown options or a model that cannot be found.

    """
    spec = f"vllm-server/{name}"
    parsed = parse_options(Options, spec, options)
    options = parsed.model_dump(include=parsed.model_fields_set)
    if options.get("url"):
        return VllmServerGenerator(spec, lambda: name, options, {"model_name": name})
    if importlib.util.find_spec("vllm") is None:
        raise MissingDependencyError("vllm", "vllm", "The vLLM server backend")
    resolved = resolve_model(name)
    engine = VllmOptions.parse(
        spec, {k: v for k, v in options.items() if k in ENGINE_OPTIONS}, resolved.defaults
    )
    merged = {**options, **engine.engine_args}
    return VllmServerGenerator(spec, resolved.locate, merged, resolved.fingerprint)


def _api_root(url: object) -> str:
    """The OpenAI-compatible root of a server URL given with or without its /v1 suffix."""
    text = str(url).rstrip("/")
    return text if text.endswith("/v1") else f"{text}/v1"
