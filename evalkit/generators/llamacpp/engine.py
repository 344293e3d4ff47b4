"""The llama.cpp side of the local backend: loading, sharing, fingerprinting and decoding.

One loaded model is shared by every generator in the process that names the same file
with the same load options, because a GGUF model costs memory and load time and
llama.cpp contexts are not safe for concurrent use: each shared model carries the lock
that serialises calls into it.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from evalkit.errors import GenerationError, MissingDependencyError
from evalkit.generators.base import SamplingParams, TokenLogprob

log = logging.getLogger("evalkit.llamacpp")


def import_llama_cpp() -> Any:
    """Import llama_cpp, routing llama.cpp's own log lines to the "evalkit.llamacpp" logger."""
    try:
        import llama_cpp
    except ImportError as exc:
        raise MissingDependencyError("llama-cpp-python", "local", "The local GGUF backend") from exc
    _LogRouter.install(llama_cpp)
    return llama_cpp


class _LogRouter:
    """llama.cpp prints load chatter to stderr even when quiet; send it to logging at DEBUG."""

    _callback: ClassVar[Any] = None

    @classmethod
    def install(cls, llama_cpp: Any) -> None:
        if cls._callback is not None:
            return

        @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
        def route(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
            log.debug("%s", text.decode("utf-8", errors="replace").rstrip())

        cls._callback = route  # keep a reference: llama.cpp calls it from C
        llama_cpp.llama_log_set(route, ctypes.c_void_p(0))


@functools.lru_cache(maxsize=64)
def _sha256(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_fingerprint(path: Path) -> dict[str, Any]:
    """Name, size and sha256 of a model file; the hash is computed once per (path, mtime, size)."""
    stat = path.stat()
    return {
        "model_file": path.name,
        "model_size": stat.st_size,
        "model_sha256": _sha256(str(path), stat.st_mtime_ns, stat.st_size),
    }


@dataclass(frozen=True)
class LoadOptions:
    """Options fixed when a model is loaded (the sharing key, with the file path)."""

    n_ctx: int = 4096
    n_threads: int | None = None
    n_batch: int = 512


@dataclass
class SharedModel:
    """A lazily loaded llama.cpp model plus the lock serialising calls into it."""

    path: Path
    options: LoadOptions
    lock: threading.Lock = field(default_factory=threading.Lock)
    _llama: Any = None
    _load_error: GenerationError | None = None

    _instances: ClassVar[dict[tuple[str, LoadOptions], SharedModel]] = {}
    _instances_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def get(cls, path: Path, options: LoadOptions) -> SharedModel:
        """The process-wide instance for this file and these load options."""
        key = (str(path.resolve()), options)
        with cls._instances_lock:
            if key not in cls._instances:
                cls._instances[key] = cls(path, options)
            return cls._instances[key]

    @classmethod
    def release_all(cls) -> None:
        """Drop every loaded model (tests and long-lived notebooks use this to free memory)."""
        with cls._instances_lock:
            cls._instances.clear()

    def llama(self) -> Any:
        """The loaded llama_cpp.Llama; loads it on first use. Call with ``lock`` held."""
        if self._load_error is not None:  # a broken file fails once, not once per prompt
            raise self._load_error
        if self._llama is None:
            llama_cpp = import_llama_cpp()
            try:
                self._llama = llama_cpp.Llama(
                    model_path=str(self.path),
                    n_ctx=self.options.n_ctx,
                    n_threads=self.options.n_threads,
                    # Prompt evaluation too: llama-cpp-python's default is every CPU, which on a
                    # busy machine is several times slower (see _default_threads in llamacpp.py).
                    n_threads_batch=self.options.n_threads,
                    n_batch=self.options.n_batch,
                    verbose=False,
                )
            except (ValueError, RuntimeError, OSError) as exc:
                self._load_error = GenerationError(
                    f"cannot load the GGUF model {self.path}: {exc}. "
                    "Check that the file is a complete GGUF model"
                )
                raise self._load_error from exc
        return self._llama


@dataclass
class Decoded:
    """The outcome of one decode loop."""

    text: str
    finish_reason: str
    completion_tokens: int
    logprobs: tuple[TokenLogprob, ...] | None


class _LogprobCapture:
    """Logits processor that records each step's distribution without changing it.

    llama-cpp-python's own log-probabilities need the model loaded with logits_all=True,
    which computes the vocabulary projection for every prompt position (for Gemma's
    262k-token vocabulary that doubles prompt time and holds gigabytes of logits). The
    sampler only needs the last position's logits, so we read them here instead. They are
    the model's own distribution, before repetition penalty and temperature, which is what
    OpenAI-style APIs report too.
    """

    def __init__(self) -> None:
        self.logits: npt.NDArray[np.float64] | None = None

    def __call__(
        self, input_ids: npt.NDArray[np.intc], scores: npt.NDArray[np.single]
    ) -> npt.NDArray[np.single]:
        self.logits = scores.astype(np.float64)
        return scores

    def entry(self, token_id: int, top: int, piece: Callable[[int], str]) -> TokenLogprob:
        """Log-probability of the sampled token and the ``top`` most likely alternatives."""
        assert self.logits is not None, "the logits processor did not run before sampling"
        logits = self.logits
        log_z = float(np.logaddexp.reduce(logits))
        best = np.argpartition(logits, -top)[-top:]
        best = best[np.argsort(-logits[best], kind="stable")]
        ranked = tuple((piece(int(i)), float(logits[i]) - log_z) for i in best)
        return TokenLogprob(token=piece(token_id), logprob=float(logits[token_id]) - log_z, top=ranked)


def decode(
    llama: Any,
    prompt_tokens: list[int],
    params: SamplingParams,
    top_logprobs: int | None,
    seed: int,
    grammar: Any = None,
) -> Decoded:
    """Generate from prompt tokens, honouring max_tokens, stop strings and end-of-generation tokens."""
    llama_cpp = import_llama_cpp()
    capture = _LogprobCapture() if top_logprobs else None
    max_tokens = _token_budget(llama, len(prompt_tokens), params.max_tokens)
    llama.set_seed(params.seed if params.seed is not None else seed)
    tokens: list[int] = []
    entries: list[TokenLogprob] = []
    finish = "length"
    for token in llama.generate(prompt_tokens, **_sampling_kwargs(params, capture), grammar=grammar):
        if llama_cpp.llama_vocab_is_eog(llama._model.vocab, token):
            finish = "stop"
            break
        tokens.append(token)
        if capture is not None and top_logprobs is not None:
            entries.append(capture.entry(token, top_logprobs, functools.partial(_piece, llama)))
        if _find_stop(_text(llama, tokens, prompt_tokens), params.stop) is not None:
            finish = "stop"
            break
        if len(tokens) >= max_tokens:
            break
    return _finish(llama, prompt_tokens, tokens, finish, entries if capture else None, params.stop)


def _sampling_kwargs(params: SamplingParams, capture: _LogprobCapture | None) -> dict[str, Any]:
    # top_k and min_p are disabled so that sampling is exactly temperature + top_p, as the
    # SamplingParams say; llama.cpp's defaults (40, 0.05) would silently narrow it.
    return {
        "temp": params.temperature,
        "top_p": params.top_p,
        "top_k": 0,
        "min_p": 0.0,
        "repeat_penalty": params.repetition_penalty or 1.0,
        "logits_processor": [capture] if capture is not None else None,
    }


def _token_budget(llama: Any, n_prompt: int, max_tokens: int) -> int:
    n_ctx = int(llama.n_ctx())
    if n_prompt >= n_ctx:
        raise GenerationError(
            f"the prompt has {n_prompt} tokens but the model context holds {n_ctx}; "
            "raise the n_ctx option or shorten the prompt/template"
        )
    return min(max_tokens, n_ctx - n_prompt)


def _piece(llama: Any, token_id: int) -> str:
    return bytes(llama.detokenize([token_id])).decode("utf-8", errors="replace")


def _text(llama: Any, tokens: list[int], prompt_tokens: list[int]) -> str:
    raw = bytes(llama.detokenize(tokens, prev_tokens=prompt_tokens))
    return raw.decode("utf-8", errors="ignore")


def _find_stop(text: str, stops: tuple[str, ...]) -> int | None:
    hits = [index for index in (text.find(s) for s in stops if s) if index >= 0]
    return min(hits) if hits else None


def _finish(
    llama: Any,
    prompt_tokens: list[int],
    tokens: list[int],
    finish: str,
    entries: list[TokenLogprob] | None,
    stops: tuple[str, ...],
) -> Decoded:
    text = bytes(llama.detokenize(tokens, prev_tokens=prompt_tokens)).decode("utf-8", errors="replace")
    cut = _find_stop(text, stops)
    if cut is not None:
        text, finish = text[:cut], "stop"
        entries = _entries_before(entries, cut)
    logprobs = tuple(entries) if entries is not None else None
    return Decoded(text=text, finish_reason=finish, completion_tokens=len(tokens), logprobs=logprobs)


def _entries_before(entries: list[TokenLogprob] | None, cut: int) -> list[TokenLogprob] | None:
    """Keep the tokens that start before a stop string, like OpenAI-style APIs do."""
    if entries is None:
        return None
    kept, offset = [], 0
    for entry in entries:
        if offset >= cut:
            break
        kept.append(entry)
        offset += len(entry.token)
    return kept
