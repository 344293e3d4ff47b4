"""What the ``vllm/`` and ``vllm-server/`` backends load, and with which engine options.

A spec's model part is the packaged alias (``gemma-3-270m``), a Hugging Face directory, a
Gemma 3 GGUF file (converted on first use, see evalkit.generators.vllm.hf_convert) or a name
vLLM resolves itself. Options are checked here once, with errors naming the option.
"""

from __future__ import annotations

import functools
import hashlib
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr, create_model

from evalkit.errors import ConfigError
from evalkit.generators.llamacpp.backend import PACKAGED_MODELS
from evalkit.generators.llamacpp.engine import file_fingerprint
from evalkit.generators.options import ProviderOptions, parse_options
from evalkit.generators.vllm import hf_convert

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
OUTPUT_CHANGING = ("dtype", "quantization", "tokenizer", "revision", "seed")
PACKAGED_DEFAULTS: dict[str, Any] = {"dtype": "float32", "max_model_len": 4096}
"""Engine defaults for packaged models: float32 keeps greedy output in step with llama.cpp."""


_STRICT: dict[type, Any] = {str: StrictStr, int: StrictInt, bool: StrictBool, float: StrictFloat}


def _engine_field(kinds: type | tuple[type, ...]) -> Any:
    types = kinds if isinstance(kinds, tuple) else (kinds,)
    annotation = functools.reduce(operator.or_, (_STRICT[kind] for kind in types))
    return (annotation | None, Field(None, description=" or ".join(kind.__name__ for kind in types)))


ENGINE_FIELDS: dict[str, Any] = {name: _engine_field(kinds) for name, kinds in ENGINE_OPTIONS.items()}
"""The engine options as pydantic fields (strict types: no bool for an int), for the Options models."""


class _EvalkitFields(ProviderOptions):
    engine_args: dict[str, Any] = Field(default_factory=dict, description="a mapping of vllm.LLM arguments")
    chat_template: StrictStr | None = Field(None, description="a Jinja template string")
    batch_window_ms: StrictInt | StrictFloat = Field(20, ge=0, description="a number >= 0")
    max_concurrency: StrictInt | None = Field(None, ge=1, description="a whole number >= 1")


Options: type[ProviderOptions] = create_model("Options", __base__=_EvalkitFields, **ENGINE_FIELDS)
"""Options of ``vllm/`` models: the engine options, plus engine_args, chat_template, batch_window_ms."""


@dataclass(frozen=True)
class VllmOptions:
    """Validated options: what goes to ``vllm.LLM`` and what evalkit uses itself."""

    engine_args: dict[str, Any] = field(default_factory=dict)
    chat_template: str | None = None
    batch_window_s: float = 0.02

    @classmethod
    def parse(cls, spec: str, options: Mapping[str, Any], defaults: Mapping[str, Any]) -> VllmOptions:
        """Check option names and types, naming the spec and the option in any error."""
        parsed = parse_options(Options, spec, options)
        given = parsed.model_dump(include=parsed.model_fields_set)
        extra = given.get("engine_args", {})
        engine = {**defaults, **extra, **{k: v for k, v in given.items() if k in ENGINE_OPTIONS}}
        for name, value in engine.items():
            _check_type(spec, name, value)
        window = float(given.get("batch_window_ms", 20))
        return cls(engine_args=engine, chat_template=given.get("chat_template"), batch_window_s=window / 1000)


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
