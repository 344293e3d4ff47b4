"""What the ``vllm/`` and ``vllm-server/`` backends load, and with which engine options.

A spec's model part is the packaged alias (``gemma-3-270m``), a Hugging Face directory, a
Gemma 3 GGUF file (converted on first use, see evalkit.generators.hf_convert) or a name
vLLM resolves itself. Options are checked here once, with errors naming the option.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import ConfigError
from evalkit.generators import hf_convert
from evalkit.generators.llamacpp import PACKAGED_MODELS
from evalkit.generators.llamacpp_engine import file_fingerprint

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


@dataclass(frozen=True)
class ResolvedModel:
    """What vLLM loads for a spec, its fingerprint and engine defaults.

    ``locate`` is called when the engine starts, so a GGUF converts on first use.
    """

    locate: Callable[[], str]
    fingerprint: dict[str, Any]
    defaults: dict[str, Any] = field(default_factory=dict)


def resolve_model(name: str) -> ResolvedModel:
    """Turn the part of the spec after ``vllm/`` into something ``vllm.LLM`` loads."""
    if name in PACKAGED_MODELS:
        return _from_gguf(hf_convert.packaged_gguf(name), name, dict(PACKAGED_DEFAULTS))
    path = Path(name).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ConfigError(f"model 'vllm/{name}': GGUF file {path} not found")
        return _from_gguf(path, path.name, {})
    if path.is_dir():
        location = str(path.resolve())
        return ResolvedModel(lambda: location, directory_fingerprint(path))
    if path.is_absolute() or name.startswith("."):
        raise ConfigError(f"model 'vllm/{name}': {path} is not a model directory or a .gguf file")
    return ResolvedModel(lambda: name, {"model_name": name})


def _from_gguf(gguf: Path, label: str, defaults: dict[str, Any]) -> ResolvedModel:
    fingerprint = {
        "model_name": label,
        "gguf_sha256": file_fingerprint(gguf)["model_sha256"],
        "converter": hf_convert.CONVERTER_VERSION,
    }
    return ResolvedModel(
        functools.cache(lambda: str(hf_convert.ensure_hf_model(gguf))), fingerprint, defaults
    )


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
