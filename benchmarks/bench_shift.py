"""Token distribution shift scoring speed on the embedded model, against llama.cpp's own evaluation.

Usage: python benchmarks/bench_shift.py [--pairs 8] [--rounds 3] [--no-logits-all]

Each pair is a prompt of the built-in set rendered in the `plain` template, followed by one of
the `icl-alignment` demonstrations as the answer to score. Three ways over exactly the same
tokens, interleaved round by round (medians printed):

- shift scoring: evalkit's ``score_tokens`` (rank, log-probability and top choice of every
  answer token, logits only at the answer positions, in chunks);
- prompt evaluation: ``Llama.eval`` over the same tokens, no logits kept (what llama.cpp
  spends to read the text at all: the floor);
- logits_all evaluation: a second model loaded with ``logits_all=True``, ``Llama.eval``, then
  ranks from ``Llama.scores`` in numpy (llama-cpp-python's own way to get per-token logits);
- logits only: llama.cpp decoding exactly as shift scoring does (logits at the answer
  positions, same chunks), with no ranking at all: the ceiling of any exact scorer that lets
  llama.cpp project onto the vocabulary.

Prints answer tokens per second for each, the ratios, and peak memory. For a 262k-token
vocabulary the projection onto the vocabulary at every scored position costs more than the rest
of a 270M model, so the ratio to bare prompt evaluation is bounded well below 1 by arithmetic
(the "logits only" ratio measures that bound); the ratio to logits_all is the like-for-like
comparison.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from evalkit.analysis.shift import continuation
from evalkit.generators.llamacpp.backend import LlamaCppOptions, packaged_model_path
from evalkit.generators.llamacpp.engine import SharedModel, import_llama_cpp
from evalkit.generators.llamacpp.scoring import OUTPUTS_PER_DECODE, score_tokens
from evalkit.prompts import load_prompt_set
from evalkit.stats.shift import classify
from evalkit.system_templates import load_template

Pair = tuple[list[int], list[int]]


def build_pairs(llama: Any, count: int) -> list[Pair]:
    """(prompt tokens, answer tokens) for the first ``count`` prompts x demonstrations."""
    plain, icl = load_template("plain"), load_template("icl-alignment")
    prompts = load_prompt_set("lima_style").prompts
    pairs = []
    for index in range(count):
        request = plain.render(prompts[index])
        answer = icl.examples[index % len(icl.examples)].assistant.strip()
        text = request.prompt or ""
        prompt_tokens = llama.tokenize(text.encode(), add_bos=True, special=True)
        answer_tokens = llama.tokenize(continuation(request, answer).encode(), add_bos=False, special=False)
        pairs.append((prompt_tokens, answer_tokens))
    return pairs


def shift_scoring(llama: Any, pairs: list[Pair]) -> None:
    for prompt, answer in pairs:
        score_tokens(llama, prompt, answer)


def prompt_eval(llama: Any, pairs: list[Pair]) -> None:
    for prompt, answer in pairs:
        llama.reset()
        llama.eval([*prompt, *answer])
    llama.reset()


def logits_only(llama: Any, pairs: list[Pair]) -> None:
    """Logits at every answer-predicting position, chunked as ``score_tokens`` chunks, never ranked."""
    llama_cpp = import_llama_cpp()
    batch = llama._batch.batch
    for prompt, answer in pairs:
        tokens = [*prompt, *answer]
        llama.reset()
        llama._ctx.kv_cache_clear()
        cuts = [0, *range(len(prompt), len(tokens) - 1, OUTPUTS_PER_DECODE), len(tokens) - 1]
        for start, stop in itertools.pairwise(cuts):
            for slot, position in enumerate(range(start, stop)):
                batch.token[slot], batch.pos[slot], batch.n_seq_id[slot] = tokens[position], position, 1
                batch.seq_id[slot][0] = 0
                batch.logits[slot] = position >= len(prompt) - 1
            batch.n_tokens = stop - start
            assert llama_cpp.llama_decode(llama._ctx.ctx, batch) == 0
    llama.reset()
    llama._ctx.kv_cache_clear()


def logits_all_eval(llama: Any, pairs: list[Pair]) -> None:
    for prompt, answer in pairs:
        llama.reset()
        llama.eval([*prompt, *answer])
        logits = llama.scores[len(prompt) - 1 : len(prompt) + len(answer) - 1]
        targets = np.asarray(answer)
        chosen = logits[np.arange(len(answer)), targets]
        _ranks = (logits > chosen[:, None]).sum(axis=1) + 1
        _log_z = np.log(np.exp(logits - logits.max(axis=1, keepdims=True)).sum(axis=1))
    llama.reset()


def timed(run: Callable[[Any, list[Pair]], None], llama: Any, pairs: list[Pair]) -> float:
    started = time.perf_counter()
    run(llama, pairs)
    return time.perf_counter() - started


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-logits-all", action="store_true", help="skip the logits_all reference")
    args = parser.parse_args()

    path = packaged_model_path("gemma-3-270m")
    # The backend's own load options (threads as evalkit picks them), with a small context.
    load = LlamaCppOptions.parse("local/gemma-3-270m", {"n_ctx": 1024}).load
    llama = SharedModel.get(path, load).llama()
    pairs = build_pairs(llama, args.pairs)
    answer_tokens = sum(len(a) for _, a in pairs)
    prompt_tokens = sum(len(p) for p, _ in pairs)
    print(f"{args.pairs} answers: {answer_tokens} answer tokens after {prompt_tokens} prompt tokens; "
          f"threads {llama.n_threads}, batch threads {llama.n_threads_batch}")  # fmt: skip
    print(f"vocabulary {llama.n_vocab()} tokens; logits buffer per decode "
          f"{OUTPUTS_PER_DECODE * llama.n_vocab() * 4 / 2**20:.0f} MiB")  # fmt: skip
    shift_scoring(llama, pairs[:1])  # warm up: first decode with outputs allocates the buffer
    prompt_eval(llama, pairs[:1])
    print(f"peak memory after shift scoring (one model): {peak_mib():.0f} MiB")
    reference = None
    if not args.no_logits_all:
        llama_cpp = import_llama_cpp()
        reference = llama_cpp.Llama(
            model_path=str(path),
            n_ctx=1024,
            n_threads=llama.n_threads,
            n_threads_batch=llama.n_threads_batch,
            logits_all=True,
            verbose=False,
        )
        logits_all_eval(reference, pairs[:1])
    times: dict[str, list[float]] = {
        "shift scoring": [],
        "prompt evaluation": [],
        "logits_all evaluation": [],
        "logits only": [],
    }
    for _ in range(args.rounds):
        times["shift scoring"].append(timed(shift_scoring, llama, pairs))
        times["prompt evaluation"].append(timed(prompt_eval, llama, pairs))
        if reference is not None:
            times["logits_all evaluation"].append(timed(logits_all_eval, reference, pairs))
        times["logits only"].append(timed(logits_only, llama, pairs))
    medians = {name: statistics.median(values) for name, values in times.items() if values}
    for name, seconds in medians.items():
        rate = answer_tokens / seconds
        print(f"{name:>22}: {rate:7.1f} answer tokens/s ({seconds:.2f} s, median of {args.rounds})")
    scoring = medians["shift scoring"]
    ratio = medians["prompt evaluation"] / scoring
    print(f"ratio shift scoring / prompt evaluation: {ratio:.2f} (target >= 0.8)")
    if "logits_all evaluation" in medians:
        print(
            f"ratio shift scoring / logits_all evaluation: {medians['logits_all evaluation'] / scoring:.2f}"
        )
    print(
        "ceiling: logits only / prompt evaluation: "
        f"{medians['prompt evaluation'] / medians['logits only']:.2f}; "
        f"shift scoring reaches {medians['logits only'] / scoring:.2f} of the ceiling"
    )
    print(f"peak memory with the logits_all model loaded too: {peak_mib():.0f} MiB")
    print_agreement(llama, pairs)


def print_agreement(llama: Any, pairs: list[Pair]) -> None:
    """How often chunked scoring puts a token in the same class as one-token-at-a-time scoring.

    One token per decode call groups tokens exactly as greedy generation does; the default
    chunks are faster, and llama.cpp's logits move slightly with the grouping.
    """
    chunked = [classify(int(r)) for p, a in pairs for r in score_tokens(llama, p, a).ranks]
    one_by_one = [
        classify(int(r)) for p, a in pairs for r in score_tokens(llama, p, a, outputs_per_decode=1).ranks
    ]
    same = sum(x == y for x, y in zip(chunked, one_by_one, strict=True))
    print(
        f"class agreement, chunks of {OUTPUTS_PER_DECODE} vs one token per decode: {same / len(chunked):.1%}"
    )


if __name__ == "__main__":
    main()
