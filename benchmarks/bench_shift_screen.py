"""Could token shift skip most of the vocabulary projection? A low-rank screen, measured.

Usage: python benchmarks/bench_shift_screen.py [--pairs 8] [--dims 32 64 128]   (needs ``gguf``)

Exact ranks need every token whose logit beats the answer token's. A screen would compute a
cheap upper bound for every vocabulary row and score exactly only the rows whose bound beats
it: with the output matrix's top-k right singular vectors V (k of 640 dimensions), row e_j
splits into its projection a_j = V^T e_j and a residual r_j, the hidden state h into V^T h and
h_perp, and ``h . e_j <= (V^T h) . a_j + |h_perp| |r_j|`` (Cauchy-Schwarz on the residual).

On the same answers as bench_shift.py this prints, for each k, the bound's mean slack (nats
above the true logit) and the share of the vocabulary left as candidates: the share the
screen would still have to score exactly, on top of its own k/640 of the projection.

Hidden states come from the logits themselves: llama.cpp's logits are h . e_j for the
dequantized Q8_0 rows (with h rounded to 8 bits), so h is their least-squares solution; the
printed reconstruction error shows how exact that is.
"""

from __future__ import annotations

import argparse
import ctypes
import sys
from typing import Any

import numpy as np
import numpy.typing as npt
from bench_shift import Pair, build_pairs

from evalkit.generators.llamacpp.backend import LlamaCppOptions, packaged_model_path
from evalkit.generators.llamacpp.engine import SharedModel, import_llama_cpp

FloatArray = npt.NDArray[np.float64]


def answer_logits(llama: Any, pairs: list[Pair]) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Logits at every answer-predicting position (one decode per answer) and the answer tokens."""
    llama_cpp = import_llama_cpp()
    batch, rows, targets = llama._batch.batch, [], []
    for prompt, answer in pairs:
        tokens = [*prompt, *answer]
        llama.reset()
        llama._ctx.kv_cache_clear()
        for slot, token in enumerate(tokens[:-1]):
            batch.token[slot], batch.pos[slot], batch.n_seq_id[slot] = token, slot, 1
            batch.seq_id[slot][0] = 0
            batch.logits[slot] = slot >= len(prompt) - 1
        batch.n_tokens = len(tokens) - 1
        assert llama_cpp.llama_decode(llama._ctx.ctx, batch) == 0
        pointer = ctypes.cast(llama_cpp.llama_get_logits(llama._ctx.ctx), ctypes.POINTER(ctypes.c_float))
        rows.append(
            np.ctypeslib.as_array(pointer, shape=(len(answer), int(llama.n_vocab()))).astype(np.float64)
        )
        targets.extend(answer)
    llama.reset()
    llama._ctx.kv_cache_clear()
    return np.concatenate(rows), np.asarray(targets, dtype=np.int64)


def output_matrix(path: str) -> FloatArray:
    """The model's output (tied embedding) matrix, dequantized: (n_vocab, n_embd)."""
    import gguf

    reader = gguf.GGUFReader(path)
    names = {t.name: t for t in reader.tensors}
    tensor = names.get("output.weight") or names["token_embd.weight"]
    return np.asarray(gguf.quants.dequantize(tensor.data, tensor.tensor_type), dtype=np.float64)


def screen(
    matrix: FloatArray,
    basis: FloatArray,
    hidden: FloatArray,
    logits: FloatArray,
    targets: npt.NDArray[np.int64],
) -> tuple[float, float]:
    """Mean slack of the bound (nats) and mean share of rows it cannot rule out, for a basis (n_embd, k)."""
    top = basis
    projected = matrix @ top
    residual = np.sqrt(np.maximum((matrix**2).sum(axis=1) - (projected**2).sum(axis=1), 0.0))
    hidden_top = hidden @ top
    hidden_rest = np.sqrt(np.maximum((hidden**2).sum(axis=1) - (hidden_top**2).sum(axis=1), 0.0))
    slack, left = [], []
    for start in range(0, len(targets), 32):  # 32 positions at a time bounds the memory
        rows = slice(start, start + 32)
        bound = hidden_top[rows] @ projected.T + hidden_rest[rows, None] * residual[None, :]
        target_logits = logits[rows][np.arange(len(targets[rows])), targets[rows]]
        slack.append((bound - logits[rows]).mean(axis=1))
        left.append((bound >= target_logits[:, None]).mean(axis=1))
    return float(np.concatenate(slack).mean()), float(np.concatenate(left).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--dims", type=int, nargs="+", default=[32, 64, 128])
    args = parser.parse_args()
    try:
        import gguf  # noqa: F401
    except ImportError:
        sys.exit("this benchmark reads the model's output matrix with gguf: pip install gguf")
    path = packaged_model_path("gemma-3-270m")
    load = LlamaCppOptions.parse("local/gemma-3-270m", {"n_ctx": 1024}).load
    llama = SharedModel.get(path, load).llama()
    pairs = build_pairs(llama, args.pairs)
    logits, targets = answer_logits(llama, pairs)
    matrix = output_matrix(str(path))
    gram = matrix.T @ matrix
    hidden = np.linalg.solve(gram, matrix.T @ logits.T).T
    singular_vectors = np.linalg.eigh(gram)[1][:, ::-1]  # the largest first
    error = np.abs(hidden @ matrix.T - logits).max()
    print(f"{len(targets)} answer positions, vocabulary {matrix.shape[0]} x {matrix.shape[1]}")
    print(f"hidden states from the logits: largest reconstruction error {error:.4f} nats")
    for dims in args.dims:
        slack, share = screen(matrix, singular_vectors[:, :dims], hidden, logits, targets)
        print(
            f"rank-{dims} screen (costs {dims / matrix.shape[1]:.0%} of the projection): bound {slack:.1f} "
            f"nats above the logit on average; {share:.1%} of the vocabulary left to score exactly"
        )


if __name__ == "__main__":
    main()
