"""Turn a Gemma 3 GGUF file into a Hugging Face-format model directory that vLLM can load.

vLLM's CPU build has no GGUF kernels, so the quantised weights are dequantised to
float32 safetensors once and cached outside the repository, keyed by the GGUF's sha256:
``$EVALKIT_HF_CACHE/<stem>-<sha256[:16]>`` (default ``~/.cache/evalkit/hf``).

Three facts make the result match llama.cpp:

* GGUF stores Gemma's RMSNorm weights with the +1 folded in (Gemma scales by 1 + w),
  so 1 is subtracted again here.
* Gemma produces degenerate text ("The The The ...") without a leading ``<bos>``. The
  GGUF says ``tokenizer.ggml.add_bos_token = true`` but the tokenizer transformers
  builds from it does not add one, so that flag is written into the saved tokenizer.
* The GGUF omits what the Gemma 3 family fixes in code (local rope base 10,000, query
  scaling by head_dim, five sliding-window layers per global one); transformers'
  Gemma3TextConfig defaults carry them.

Base checkpoints ship no chat template; Gemma's turn format is added, with a system
message folded into the first user turn, as the embedded llama.cpp backend renders it.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from evalkit.errors import ConfigError, MissingDependencyError
from evalkit.generators.llamacpp.backend import packaged_model_path
from evalkit.generators.llamacpp.engine import file_fingerprint

log = logging.getLogger("evalkit.vllm")

CACHE_ENV = "EVALKIT_HF_CACHE"
CONVERTER_VERSION = "1"
"""Part of the cache key: bump when the conversion changes what the directory holds."""
DONE_MARKER = ".evalkit-converted"

# Gemma's turn format; Gemma has no system role, so a system message opens the first user turn.
GEMMA_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- set ns = namespace(system='') -%}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}"
    "{%- set ns.system = ns.system + message['content'] + '\\n\\n' -%}"
    "{%- elif message['role'] == 'user' -%}"
    "{{ '<start_of_turn>user\\n' + ns.system + message['content'] + '<end_of_turn>\\n' }}"
    "{%- set ns.system = '' -%}"
    "{%- else -%}"
    "{{ '<start_of_turn>model\\n' + message['content'] + '<end_of_turn>\\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if ns.system -%}"
    "{{ '<start_of_turn>user\\n' + ns.system.rstrip() + '<end_of_turn>\\n' }}"
    "{%- endif -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\\n' }}{%- endif -%}"
)
END_OF_TURN = "<end_of_turn>"
END_OF_TURN_ID = 106
# Fixed by the Gemma 3 architecture rather than stored in its GGUF files.
GEMMA3_LOCAL_ROPE_BASE = 10000.0
GEMMA3_GLOBAL_EVERY = 6

_LAYER_NAMES = {
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "attn_q_norm": "self_attn.q_norm",
    "attn_k_norm": "self_attn.k_norm",
    "attn_norm": "input_layernorm",
    "post_attention_norm": "post_attention_layernorm",
    "ffn_norm": "pre_feedforward_layernorm",
    "post_ffw_norm": "post_feedforward_layernorm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
_TOP_NAMES = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}


def cache_root() -> Path:
    """Where converted models live: $EVALKIT_HF_CACHE, else ~/.cache/evalkit/hf."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "evalkit" / "hf"


def packaged_gguf(name: str) -> Path:
    """The GGUF file of a packaged model such as "gemma-3-270m" (assembled once)."""
    return packaged_model_path(name)


def ensure_hf_model(gguf_path: Path, root: Path | None = None) -> Path:
    """The converted directory for a GGUF file, converting it on first use.

    Args:
        gguf_path: A Gemma 3 GGUF file.
        root: Cache folder; defaults to :func:`cache_root`.

    Returns:
        A directory with config.json, model.safetensors and the tokenizer files.

    """
    digest = file_fingerprint(gguf_path)["model_sha256"]
    target = (root or cache_root()) / f"{gguf_path.stem}-v{CONVERTER_VERSION}-{digest[:16]}"
    if (target / DONE_MARKER).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _scratch_dir(target.parent) as scratch:
        scratch.chmod(0o755)
        convert_gguf(gguf_path, scratch)
        (scratch / DONE_MARKER).write_text(digest + "\n")
        _publish(scratch, target)
    return target


@contextlib.contextmanager
def _scratch_dir(parent: Path) -> Iterator[Path]:
    scratch = Path(tempfile.mkdtemp(prefix=".converting-", dir=parent))
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _publish(scratch: Path, target: Path) -> None:
    """Move the finished conversion into place, unless a concurrent converter got there first."""
    if (target / DONE_MARKER).is_file():
        return
    shutil.rmtree(target, ignore_errors=True)  # a half-written directory from a killed run
    try:
        scratch.rename(target)
    except OSError:
        if not (target / DONE_MARKER).is_file():
            raise


def convert_gguf(gguf_path: Path, out_dir: Path) -> None:
    """Write config.json, generation_config.json, model.safetensors and tokenizer files."""
    reader = _gguf_reader(gguf_path)
    metadata = _metadata(reader)
    architecture = metadata.get("general.architecture")
    if architecture != "gemma3":
        raise ConfigError(
            f"{gguf_path}: only Gemma 3 GGUF files can be converted for vLLM (this one is {architecture!r}); "
            "give vLLM a Hugging Face model directory instead"
        )
    tensors = dict(_hf_tensors(reader))
    _save_safetensors(tensors, out_dir / "model.safetensors")
    _save_config(metadata, tied="lm_head.weight" not in tensors, out_dir=out_dir)
    _save_tokenizer(gguf_path, bool(metadata.get("tokenizer.ggml.add_bos_token", True)), out_dir)
    log.info("converted %s to %s", gguf_path, out_dir)


def _gguf_reader(path: Path) -> Any:
    try:
        gguf = importlib.import_module("gguf")
    except ImportError as exc:
        raise MissingDependencyError("gguf", "vllm", "Converting a GGUF model for vLLM") from exc
    return gguf.GGUFReader(str(path))


def _metadata(reader: Any) -> dict[str, Any]:
    """Scalar and string GGUF fields (arrays such as the vocabulary are skipped)."""
    out: dict[str, Any] = {}
    for key, field in reader.fields.items():
        if key == "tokenizer.ggml.tokens":
            out["vocab_size"] = len(field.data)
        if key.startswith("tokenizer.ggml.") and len(field.data) > 1:
            continue
        with contextlib.suppress(Exception):  # gguf raises assorted errors on exotic field types
            out[key] = field.contents()
    return out


def _hf_tensors(reader: Any) -> Iterator[tuple[str, npt.NDArray[np.float32]]]:
    dequantize = importlib.import_module("gguf.quants").dequantize
    for tensor in reader.tensors:
        weights = np.asarray(dequantize(tensor.data, tensor.tensor_type), dtype=np.float32)
        weights = weights.reshape(tuple(int(d) for d in reversed(tensor.shape)))
        if tensor.name.endswith("norm.weight"):
            weights = weights - np.float32(1.0)
        yield hf_tensor_name(tensor.name), np.ascontiguousarray(weights)


def hf_tensor_name(gguf_name: str) -> str:
    """Map a llama.cpp tensor name ("blk.3.ffn_up.weight") to the transformers one."""
    stem, _, suffix = gguf_name.rpartition(".")
    if stem in _TOP_NAMES:
        return f"{_TOP_NAMES[stem]}.{suffix}"
    prefix, block, part = stem.split(".", 2) if stem.startswith("blk.") else ("", "", stem)
    if prefix != "blk" or part not in _LAYER_NAMES:
        raise ConfigError(f"unexpected tensor {gguf_name!r} in a Gemma 3 GGUF file; it cannot be converted")
    return f"model.layers.{block}.{_LAYER_NAMES[part]}.{suffix}"


def _save_safetensors(tensors: dict[str, npt.NDArray[np.float32]], path: Path) -> None:
    save_file = importlib.import_module("safetensors.numpy").save_file
    save_file(tensors, str(path), metadata={"format": "pt"})


def _save_config(metadata: dict[str, Any], *, tied: bool, out_dir: Path) -> None:
    """config.json in the long-standing Gemma 3 keys, which every recent transformers reads."""

    def arch(key: str) -> Any:
        return metadata[f"gemma3.{key}"]

    head_dim = int(arch("attention.key_length"))
    layers = int(arch("block_count"))
    config = {
        "architectures": ["Gemma3ForCausalLM"],
        "model_type": "gemma3_text",
        "vocab_size": metadata["vocab_size"],
        "hidden_size": arch("embedding_length"),
        "intermediate_size": arch("feed_forward_length"),
        "num_hidden_layers": layers,
        "num_attention_heads": arch("attention.head_count"),
        "num_key_value_heads": arch("attention.head_count_kv"),
        "head_dim": head_dim,
        "max_position_embeddings": arch("context_length"),
        "rms_norm_eps": arch("attention.layer_norm_rms_epsilon"),
        "sliding_window": arch("attention.sliding_window"),
        "rope_theta": arch("rope.freq_base"),
        "rope_local_base_freq": GEMMA3_LOCAL_ROPE_BASE,
        "query_pre_attn_scalar": head_dim,
        "layer_types": [_layer_type(i) for i in range(layers)],
        "hidden_activation": "gelu_pytorch_tanh",
        "attn_logit_softcapping": None,
        "final_logit_softcapping": None,
        "bos_token_id": metadata.get("tokenizer.ggml.bos_token_id", 2),
        "eos_token_id": metadata.get("tokenizer.ggml.eos_token_id", 1),
        "pad_token_id": metadata.get("tokenizer.ggml.padding_token_id", 0),
        "tie_word_embeddings": tied,
        "torch_dtype": "float32",
    }
    generation = {
        "bos_token_id": config["bos_token_id"],
        "eos_token_id": [config["eos_token_id"], END_OF_TURN_ID],
        "pad_token_id": config["pad_token_id"],
    }
    (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out_dir / "generation_config.json").write_text(json.dumps(generation, indent=2) + "\n")


def _layer_type(index: int) -> str:
    return "full_attention" if (index + 1) % GEMMA3_GLOBAL_EVERY == 0 else "sliding_attention"


def _save_tokenizer(gguf_path: Path, add_bos: bool, out_dir: Path) -> None:
    auto_tokenizer = importlib.import_module("transformers").AutoTokenizer
    tokenizer = auto_tokenizer.from_pretrained(
        str(gguf_path.parent), gguf_file=gguf_path.name, add_bos_token=add_bos
    )
    tokenizer.chat_template = GEMMA_CHAT_TEMPLATE
    if tokenizer.convert_tokens_to_ids(END_OF_TURN) != END_OF_TURN_ID:
        raise ConfigError(f"{gguf_path}: the tokenizer has no {END_OF_TURN} token with id {END_OF_TURN_ID}")
    tokenizer.save_pretrained(out_dir)
