"""In-process vLLM backend: ``vllm/<model>``, batched by vLLM's own scheduler.

Specs:
    vllm/gemma-3-270m    the packaged Gemma 3 270M GGUF, converted once to a Hugging Face
                         directory (see evalkit.generators.hf_convert)
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
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from evalkit.errors import ConfigError, GenerationError
from evalkit.generators.base import Completion, CompletionRequest, Generator
from evalkit.generators.llamacpp import PACKAGED_MODELS
from evalkit.generators.vllm_runtime import (
    MicroBatcher,
    SharedEngine,
    import_vllm,
    sampling_params,
    to_completion,
)

ENGINE_OPTIONS: dict[str, type | tuple[type, ...]] = {
    "dtype": str,
    "max_model_len": int,
    "tensor_parallel_size": int,
    "pipeline_parallel_size": int,
    "gpu_memory_utilization": (int, float),
    "kv_cache_memory_bytes": int,
    "enforce_eager": bool,
    "quantization": str,
    "max_num_seqs": int,
    "max_num_batched_tokens": int,
    "enable_prefix_caching": bool,
    "tokenizer": str,
    "revision": str,
    "seed": int,
    "trust_remote_code": bool,
}
EVALKIT_OPTIONS = ("engine_args", "chat_template", "batch_window_ms", "max_concurrency")
OUTPUT_CHANGING = ("dtype", "quantization", "tokenizer", "revision", "seed")
PACKAGED_DEFAULTS: dict[str, Any] = {"dtype": "float32", "max_model_len": 4096}
"""Engine defaults for packaged models: float32 keeps greedy output in step with llama.cpp."""


@dataclass(frozen=True)
class VllmOptions:
    """Validated options: what goes to ``vllm.LLM`` and what evalkit uses itself."""

    engine_args: dict[str, Any] = field(default_factory=dict)
    chat_template: str | None = None
    batch_window_s: float = 0.02

    @classmethod
    def parse(cls, spec: str, options: Mapping[str, Any], defaults: Mapping[str, Any]) -> VllmOptions:
        """Check option names and types, naming the spec and the option in any error."""
        unknown = sorted(set(options) - set(ENGINE_OPTIONS) - set(EVALKIT_OPTIONS))
        if unknown:
            valid = ", ".join([*ENGINE_OPTIONS, *EVALKIT_OPTIONS])
            raise ConfigError(
                f"model {spec!r}: unknown option(s) {', '.join(unknown)}; valid options: {valid}"
            )
        extra = options.get("engine_args", {})
        if not isinstance(extra, Mapping):
            raise ConfigError(f"model {spec!r}: option 'engine_args' must be a mapping of vllm.LLM arguments")
        engine = {**defaults, **extra, **{k: v for k, v in options.items() if k in ENGINE_OPTIONS}}
        for name, value in engine.items():
            _check_type(spec, name, value)
        template = options.get("chat_template")
        if template is not None and not isinstance(template, str):
            raise ConfigError(f"model {spec!r}: option 'chat_template' must be a Jinja template string")
        window = options.get("batch_window_ms", 20)
        if isinstance(window, bool) or not isinstance(window, int | float) or window < 0:
            raise ConfigError(
                f"model {spec!r}: option 'batch_window_ms' must be a number >= 0, got {window!r}"
            )
        return cls(engine_args=engine, chat_template=template, batch_window_s=float(window) / 1000)


def _check_type(spec: str, name: str, value: Any) -> None:
    expected = ENGINE_OPTIONS.get(name)
    if expected is None:
        return
    wrong_bool = isinstance(value, bool) and expected is not bool
    if wrong_bool or not isinstance(value, expected):
        kinds = expected if isinstance(expected, tuple) else (expected,)
        names = " or ".join(k.__name__ for k in kinds)
        raise ConfigError(f"model {spec!r}: option {name!r} must be {names}, got {value!r}")


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

    supports_logprobs = True

    def __init__(self, spec: str, model: str, options: VllmOptions, fingerprint: Mapping[str, Any]) -> None:
        super().__init__(spec, max_concurrency=1 << 16)  # the engine schedules; no client-side cap
        self.model = model
        self.options = options
        self.fingerprint = dict(fingerprint)
        self._engine: SharedEngine | None = None
        self._batcher: MicroBatcher | None = None

    def identity(self) -> dict[str, Any]:
        """Spec, model fingerprint, vLLM version and the options that change outputs."""
        args = self.options.engine_args
        template = self.options.chat_template
        return {
            "spec": self.spec,
            **self.fingerprint,
            "engine": f"vllm {_vllm_version()}",
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
        """Submit every request to the engine in one call; failures are returned in place."""
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
                model_id=str(self.fingerprint.get("model_name", self.model)),
                rendered=job.rendered,
                latency_s=latency,
                top_logprobs=job.request.top_logprobs,
            )

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

    def _shared(self) -> SharedEngine:
        if self._engine is None:
            self._engine = SharedEngine.acquire(self.model, self.options.engine_args)
        return self._engine

    async def aclose(self) -> None:
        """Release this generator's hold on the engine; the last holder shuts it down."""
        engine, self._engine = self._engine, None
        if engine is not None:
            await asyncio.to_thread(engine.release)


def _vllm_version() -> str:
    try:
        return importlib_metadata.version("vllm")
    except importlib_metadata.PackageNotFoundError:
        return str(import_vllm().__version__)


@dataclass(frozen=True)
class ResolvedModel:
    """What vLLM loads for a spec, how to fingerprint it, and engine defaults for it."""

    location: str
    fingerprint: dict[str, Any]
    defaults: dict[str, Any] = field(default_factory=dict)


def resolve_model(name: str) -> ResolvedModel:
    """Turn the part of the spec after ``vllm/`` into something ``vllm.LLM`` loads."""
    from evalkit.generators import hf_convert

    if name in PACKAGED_MODELS:
        return _from_gguf(hf_convert.packaged_gguf(name), name, dict(PACKAGED_DEFAULTS))
    path = Path(name).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ConfigError(f"model 'vllm/{name}': GGUF file {path} not found")
        return _from_gguf(path, path.name, {})
    if path.is_dir():
        return ResolvedModel(str(path.resolve()), directory_fingerprint(path))
    if path.is_absolute() or name.startswith("."):
        raise ConfigError(f"model 'vllm/{name}': {path} is not a model directory or a .gguf file")
    return ResolvedModel(name, {"model_name": name})


def _from_gguf(gguf: Path, label: str, defaults: dict[str, Any]) -> ResolvedModel:
    from evalkit.generators import hf_convert

    directory = hf_convert.ensure_hf_model(gguf)
    digest = directory.name.rsplit("-", 1)[-1]
    fingerprint = {
        "model_name": label,
        "gguf_sha256_prefix": digest,
        "converter": hf_convert.CONVERTER_VERSION,
    }
    return ResolvedModel(str(directory), fingerprint, defaults)


def directory_fingerprint(path: Path) -> dict[str, Any]:
    """Hash of a model directory's small files plus the names and sizes of its weight files.

    Hashing every weight byte of a large model would cost minutes per run; a changed
    checkpoint almost always changes its config, its index or its file sizes.
    """
    digest = hashlib.sha256()
    for file in sorted(p for p in path.iterdir() if p.is_file()):
        digest.update(file.name.encode())
        size = file.stat().st_size
        digest.update(file.read_bytes() if size < (1 << 20) else str(size).encode())
    return {"model_name": path.name, "model_dir_sha256": digest.hexdigest()}


def create(name: str, options: Mapping[str, Any]) -> Generator:
    """Factory for ``vllm/<model>``; the engine starts on the first request.

    Raises:
        MissingDependencyError: vllm is not installed.
        ConfigError: The model cannot be found or the options are invalid.

    """
    import_vllm()
    spec = f"vllm/{name}"
    resolved = resolve_model(name)
    return VllmGenerator(
        spec, resolved.location, VllmOptions.parse(spec, options, resolved.defaults), resolved.fingerprint
    )
