"""Judge throughput on the local backend: one order vs both orders, and with the cache warm.

Judges N pairs of the built-in prompt set with the default pairwise judge on the embedded
model (log-probabilities on), three ways in one process:

  single  each pair in order "ab" only (the baseline)
  both    each pair in both orders (evalkit's default position-bias control)
  warm    both orders again through the now-warm cache

and prints verdicts/s and the ratios against the single-order baseline. The responses are
fixed texts of two lengths, so the numbers measure the judge, not a generator.

    python benchmarks/bench_judge.py [--pairs 16]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from evalkit.cache import CachedCaller, ResponseCache
from evalkit.generators.registry import create_generator
from evalkit.judging import LLMPairwiseJudge, load_judge, make_judge
from evalkit.prompts import load_prompt_set
from evalkit.records import Order, Prompt, Response

SHORT = "Here is a short answer that addresses the question directly."
LONG = (
    "Here is a longer answer. It restates the question, gives two concrete suggestions with "
    "a reason for each, and ends with a one-line summary of what to do first."
)


def pairs(limit: int) -> list[tuple[Prompt, Response, Response]]:
    prompts = load_prompt_set("lima_style").prompts[:limit]
    return [
        (p, Response(prompt_id=p.id, system="a", outputs=(SHORT,) * len(p.turns)),
         Response(prompt_id=p.id, system="b", outputs=(LONG,) * len(p.turns)))
        for p in prompts
    ]  # fmt: skip


async def judge_all(
    judge: LLMPairwiseJudge, caller: CachedCaller, items: list, orders: tuple[Order, ...]
) -> float:
    started = time.perf_counter()
    for prompt, a, b in items:
        for order in orders:
            await judge.judge(caller, prompt, a, b, order)
    return time.perf_counter() - started


async def main(limit: int) -> None:
    generator = create_generator("local/gemma-3-270m")
    spec = load_judge("lima-pairwise")
    judge = make_judge(
        spec, "local/gemma-3-270m", supports_logprobs=generator.supports_logprobs, text_prompt=True
    )
    assert isinstance(judge, LLMPairwiseJudge)
    items = pairs(limit)
    with tempfile.TemporaryDirectory() as folder:
        await judge_all(judge, CachedCaller(generator, None), items[:1], ("ab",))  # load the model
        cold = CachedCaller(generator, ResponseCache(Path(folder) / "single.sqlite"))
        single = await judge_all(judge, cold, items, ("ab",))
        cache = ResponseCache(Path(folder) / "both.sqlite")
        both = await judge_all(judge, CachedCaller(generator, cache), items, ("ab", "ba"))
        warm_caller = CachedCaller(generator, cache)
        warm = await judge_all(judge, warm_caller, items, ("ab", "ba"))
    n = len(items)
    print(f"pairs: {n}  model: local/gemma-3-270m  judge: lima-pairwise (log-probabilities on)")
    print(f"single order: {n / single:7.2f} verdicts/s  {single / n:7.4f} s per pair  (baseline)")
    print(
        f"both orders:  {2 * n / both:7.2f} verdicts/s  {both / n:7.4f} s per pair  x{both / single:.2f} time"
    )
    print(
        f"warm cache:   {2 * n / warm:7.1f} verdicts/s  {warm / n:7.4f} s per pair  x{warm / single:.4f} time"
    )
    print(f"model calls with the cache warm: {warm_caller.calls}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=16)
    asyncio.run(main(parser.parse_args().pairs))
