"""Throughput of evalkit's vLLM backend against a bare ``vllm.LLM.generate`` and llama.cpp.

All three run in this one process on the same N prompts with the same greedy parameters.
evalkit and the bare call share one engine (started and warmed up before timing), and
their runs alternate so that load from elsewhere on the machine hits both alike; the
best run of each counts. Target: evalkit / bare >= 0.95.

    .venv-vllm/bin/python benchmarks/bench_vllm.py            # N=64, 64 new tokens
    .venv-vllm/bin/python benchmarks/bench_vllm.py --n 16 --skip-llamacpp
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

TOPICS = (
    "the ocean", "volcanoes", "honey bees", "the moon", "bicycles", "chess", "coffee", "rain forests",
    "the printing press", "electric cars", "penguins", "the Roman Empire", "jazz", "photosynthesis",
    "the internet", "mountains", "libraries", "trains", "dinosaurs", "gardening", "the human brain",
    "bread", "lighthouses", "deserts", "the violin", "comets", "recycling", "the Olympic Games",
    "elephants", "glaciers", "origami", "the telescope",
)  # fmt: skip
STYLES = ("Here is a short paragraph about {}:\n", "Three interesting facts about {}:\n1.")


def make_prompts(count: int) -> list[str]:
    """``count`` distinct raw prompts (topics crossed with two styles, repeated if needed)."""
    prompts = [style.format(topic) for style in STYLES for topic in TOPICS]
    return [prompts[i % len(prompts)] + (" " * (i // len(prompts))) for i in range(count)]


async def evalkit_run(generator: Any, prompts: list[str], max_tokens: int) -> tuple[float, int]:
    from evalkit.generators.base import Completion, CompletionRequest, SamplingParams

    params = SamplingParams(temperature=0.0, max_tokens=max_tokens)
    started = time.perf_counter()
    results = await generator.complete_many([CompletionRequest(prompt=p, params=params) for p in prompts])
    elapsed = time.perf_counter() - started
    done = [r for r in results if isinstance(r, Completion)]
    if len(done) != len(prompts):
        raise SystemExit(f"evalkit run failed: {[r for r in results if not isinstance(r, Completion)][:3]}")
    return elapsed, sum(c.completion_tokens for c in done)


def bare_run(llm: Any, prompts: list[str], max_tokens: int) -> tuple[float, int]:
    from vllm import SamplingParams

    started = time.perf_counter()
    outputs = llm.generate(prompts, SamplingParams(temperature=0.0, max_tokens=max_tokens), use_tqdm=False)
    elapsed = time.perf_counter() - started
    return elapsed, sum(len(o.outputs[0].token_ids) for o in outputs)


def best(runs: list[tuple[float, int]]) -> float:
    """Highest tokens per second among the runs."""
    return max(tokens / seconds for seconds, tokens in runs)


async def vllm_side(args: argparse.Namespace, prompts: list[str]) -> dict[str, float]:
    from evalkit.generators.registry import create_generator

    generator = create_generator(f"vllm/{args.model}", {"dtype": args.dtype})
    started = time.perf_counter()
    await evalkit_run(generator, prompts[:2], 4)  # start, compile and warm up the engine
    startup = time.perf_counter() - started
    llm = generator.llm()
    bare_runs, evalkit_runs = [], []
    for _ in range(args.repeats):
        bare_runs.append(bare_run(llm, prompts, args.max_tokens))
        evalkit_runs.append(await evalkit_run(generator, prompts, args.max_tokens))
    await generator.aclose()
    return {
        "engine_start_s": startup,
        "bare_tok_s": best(bare_runs),
        "evalkit_tok_s": best(evalkit_runs),
        "tokens": evalkit_runs[0][1],
    }


async def llamacpp_side(prompts: list[str], max_tokens: int) -> float:
    from evalkit.generators.registry import create_generator

    generator = create_generator("local/gemma-3-270m", {})
    await evalkit_run(generator, prompts[:1], 2)  # load the model
    elapsed, tokens = await evalkit_run(generator, prompts, max_tokens)
    await generator.aclose()
    return tokens / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=64, help="prompts (default 64)")
    parser.add_argument("--max-tokens", type=int, default=64, help="new tokens per prompt (default 64)")
    parser.add_argument("--repeats", type=int, default=2, help="alternating timed runs of each (default 2)")
    parser.add_argument("--model", default="gemma-3-270m", help="vllm/<model> to run (default gemma-3-270m)")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--skip-llamacpp", action="store_true", help="skip the llama.cpp comparison")
    args = parser.parse_args()
    prompts = make_prompts(args.n)
    result: dict[str, Any] = {"n": args.n, "max_tokens": args.max_tokens, "dtype": args.dtype}
    result.update(asyncio.run(vllm_side(args, prompts)))
    result["evalkit_over_bare"] = result["evalkit_tok_s"] / result["bare_tok_s"]
    print(f"vLLM engine start (incl. compile):      {result['engine_start_s']:8.1f} s")
    print(f"bare vllm.LLM.generate:                 {result['bare_tok_s']:8.1f} tok/s")
    print(f"evalkit vllm/{args.model}:        {result['evalkit_tok_s']:8.1f} tok/s")
    print(f"evalkit / bare:                         {result['evalkit_over_bare']:8.3f}  (target >= 0.95)")
    if not args.skip_llamacpp:
        result["llamacpp_tok_s"] = asyncio.run(llamacpp_side(prompts, args.max_tokens))
        result["vllm_over_llamacpp"] = result["evalkit_tok_s"] / result["llamacpp_tok_s"]
        print(f"evalkit local/gemma-3-270m (llama.cpp): {result['llamacpp_tok_s']:8.1f} tok/s")
        print(f"vLLM / llama.cpp (both through evalkit): {result['vllm_over_llamacpp']:7.2f}x")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
