"""The vLLM side of the ``vllm/`` backend: one shared engine per model, request translation.

An engine costs minutes to start on a CPU (and GPU memory on a GPU), so every generator in
the process that names the same model directory with the same engine arguments shares one
``vllm.LLM``, reference-counted: the last generator to close shuts it down. ``vllm.LLM``
is not safe for concurrent calls, so each engine carries a lock that serialises them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from evalkit.errors import EvalkitError, GenerationError, MissingDependencyError
from evalkit.generators.base import Completion, CompletionRequest, TokenLogprob

log = logging.getLogger("evalkit.vllm")

CPU_DEFAULT_KV_CACHE_BYTES = 1 << 30
"""KV cache reserved on a CPU when the user sets neither kv_cache_memory_bytes nor
gpu_memory_utilization (vLLM's own default reserves 92% of the machine's memory)."""


def import_vllm() -> Any:
    """Import vllm or say how to install it."""
    try:
        import vllm
    except ImportError as exc:
        raise MissingDependencyError("vllm", "vllm", "The vLLM backend") from exc
    return vllm


def on_cpu() -> bool:
    """True when vLLM runs on the CPU build (no accelerator)."""
    from vllm.platforms import current_platform

    return bool(current_platform.is_cpu())


def engine_defaults_for_cpu(args: dict[str, Any]) -> dict[str, Any]:
    """Engine arguments with CPU-friendly defaults filled in where the user set none."""
    if not on_cpu():
        return args
    # vLLM keeps one core for its front end by default, which halves a two-core machine.
    os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
    if "kv_cache_memory_bytes" in args or "gpu_memory_utilization" in args:
        return args
    return {**args, "kv_cache_memory_bytes": CPU_DEFAULT_KV_CACHE_BYTES}


@dataclass
class SharedEngine:
    """A lazily started ``vllm.LLM`` shared by the generators that name the same model."""

    key: str
    model: str
    engine_args: dict[str, Any]
    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0
    _llm: Any = None

    _instances: ClassVar[dict[str, SharedEngine]] = {}
    _instances_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def acquire(cls, model: str, engine_args: Mapping[str, Any]) -> SharedEngine:
        """The process-wide engine for this model and these arguments; counts one more user."""
        key = json.dumps([model, dict(engine_args)], sort_keys=True, default=str)
        with cls._instances_lock:
            engine = cls._instances.setdefault(key, cls(key, model, dict(engine_args)))
            engine.users += 1
            return engine

    def release(self) -> None:
        """Drop one user; the last one shuts the engine down."""
        with self._instances_lock:
            self.users -= 1
            if self.users > 0:
                return
            if self._instances.get(self.key) is self:
                del self._instances[self.key]
        with self.lock:
            self._shutdown()

    def llm(self) -> Any:
        """The started engine; starts it on first use. Call with ``lock`` held."""
        if self._llm is None:
            vllm = import_vllm()
            args = engine_defaults_for_cpu(self.engine_args)
            log.info("starting vLLM engine for %s with %s", self.model, args)
            try:
                self._llm = vllm.LLM(model=self.model, **args)
            except Exception as exc:  # vLLM raises bare RuntimeError/ValueError on start-up failures
                raise EvalkitError(
                    f"vLLM could not start an engine for {self.model}: {exc}. Check the engine options "
                    "(dtype, max_model_len, gpu_memory_utilization or kv_cache_memory_bytes) and vLLM's log"
                ) from exc
        return self._llm

    def _shutdown(self) -> None:
        llm, self._llm = self._llm, None
        if llm is None:
            return
        engine = getattr(llm, "llm_engine", None)
        client = getattr(engine, "engine_core", None)
        if client is not None and hasattr(client, "shutdown"):
            client.shutdown()
        multiprocessing.active_children()  # reaps the engine processes vLLM stopped but did not join
        log.info("stopped vLLM engine for %s", self.model)


def sampling_params(request: CompletionRequest, engine_seed: int) -> Any:
    """The vllm.SamplingParams for one request.

    Sampled requests without a seed get one derived from the request and the engine seed,
    so a result never depends on which other requests shared its batch.
    """
    vllm = import_vllm()
    params = request.params
    seed = params.seed
    if seed is None and params.temperature > 0:
        seed = derived_seed(request, engine_seed)
    structured = _structured(request.response_format)
    extra = {} if structured is None else {"structured_outputs": structured}
    return vllm.SamplingParams(
        temperature=params.temperature,
        top_p=params.top_p,
        max_tokens=params.max_tokens,
        seed=seed,
        stop=list(params.stop) or None,
        repetition_penalty=params.repetition_penalty or 1.0,
        logprobs=request.top_logprobs,
        **extra,
    )


def derived_seed(request: CompletionRequest, engine_seed: int) -> int:
    """A stable 31-bit seed from the request's content and the engine seed."""
    payload = f"{engine_seed}:{request.model_dump_json()}".encode()
    return int.from_bytes(hashlib.sha256(payload).digest()[:4], "big") & 0x7FFFFFFF


def _structured(response_format: Mapping[str, Any] | None) -> Any:
    if response_format is None or response_format.get("type") == "text":
        return None
    from vllm.sampling_params import StructuredOutputsParams

    kind = response_format.get("type")
    if kind == "json_object":
        return StructuredOutputsParams(json_object=True)
    if kind == "grammar" and isinstance(response_format.get("grammar"), str):
        return StructuredOutputsParams(grammar=response_format["grammar"])
    schema = (response_format.get("json_schema") or {}).get("schema")
    if kind == "json_schema" and isinstance(schema, dict):
        return StructuredOutputsParams(json=schema)
    raise GenerationError(
        f"unsupported response_format {response_format!r}; use json_object, json_schema or grammar"
    )


def to_completion(
    output: Any, *, model_id: str, rendered: str, latency_s: float, top_logprobs: int | None
) -> Completion:
    """Translate one vLLM RequestOutput into a Completion."""
    sample = output.outputs[0]
    return Completion(
        text=sample.text,
        model_id=model_id,
        finish_reason=_finish(sample.finish_reason),
        prompt_tokens=len(output.prompt_token_ids or ()),
        completion_tokens=len(sample.token_ids),
        latency_s=latency_s,
        rendered_prompt=rendered,
        logprobs=None
        if top_logprobs is None
        else token_logprobs(sample.token_ids, sample.logprobs, top_logprobs),
    )


def _finish(reason: str | None) -> str:
    return "length" if reason == "length" else "stop"


def token_logprobs(
    token_ids: Sequence[int], steps: Sequence[Mapping[int, Any]] | None, top: int
) -> tuple[TokenLogprob, ...]:
    """Per generated token: its text, log-probability and the ``top`` best alternatives.

    vLLM adds the sampled token to each step's alternatives when it ranks below ``top``;
    it is kept as the step's token but not listed among the alternatives.
    """
    if steps is None:
        return ()
    out = []
    for token_id, step in zip(token_ids, steps, strict=False):
        chosen = step[token_id]
        ranked = sorted(step.values(), key=lambda entry: entry.rank if entry.rank is not None else 1 << 30)
        best = tuple((entry.decoded_token or "", float(entry.logprob)) for entry in ranked[:top])
        out.append(TokenLogprob(token=chosen.decoded_token or "", logprob=float(chosen.logprob), top=best))
    return tuple(out)


RunBatch = Callable[[list[CompletionRequest]], list[Completion | BaseException]]


class MicroBatcher:
    """Gathers single requests arriving within a short window into one engine call.

    Requests that arrive while a batch is in the engine wait for it and go in the next
    one, so a burst of ``complete`` calls (a judge scoring many items concurrently)
    reaches vLLM as a few large batches rather than many batches of one.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, run_batch: RunBatch, window_s: float) -> None:
        self.loop = loop
        self._run_batch = run_batch
        self._window_s = window_s
        self._pending: list[tuple[CompletionRequest, asyncio.Future[Completion]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def submit(self, request: CompletionRequest) -> Completion:
        """Queue one request and wait for its completion (raises what the engine raised)."""
        future: asyncio.Future[Completion] = self.loop.create_future()
        self._pending.append((request, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = self.loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        await asyncio.sleep(self._window_s)
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                results = await asyncio.to_thread(self._run_batch, [request for request, _ in batch])
            except Exception as exc:  # the engine failed to start: every waiter hears why
                results = [exc] * len(batch)
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)
