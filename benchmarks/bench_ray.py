"""The embedded model on Ray: two one-thread replicas against one two-thread engine.

On a local Ray cluster (started here on 127.0.0.1), the same prompts are answered by:

* the baseline, measured in this run: one in-process llama.cpp engine with two threads;
* a pool of two Ray actors, each holding a one-thread engine (``executor: {kind: ray}``).

Printed: the pool's throughput as a ratio of the baseline's, and Ray's overhead per
request, measured on the offline echo backend (no model time) as the pool's time per
request minus the in-process time per request.

Usage: python benchmarks/bench_ray.py [--prompts 16] [--max-tokens 48] [--echo-requests 500]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import ray

from evalkit.distributed.config import ExecutorConfig
from evalkit.distributed.ray_pool import RayPoolGenerator
from evalkit.generators.base import CompletionRequest, Generator, SamplingParams
from evalkit.generators.registry import create_generator
from evalkit.records import Message

QUESTIONS = [
    "Explain how a rainbow forms.",
    "Give three tips for writing a clear email.",
    "What is the difference between weather and climate?",
    "How do vaccines train the immune system?",
]


def requests(count: int, max_tokens: int) -> list[CompletionRequest]:
    params = SamplingParams(temperature=0.0, max_tokens=max_tokens, seed=0)
    return [
        CompletionRequest(prompt=f"Question {i}: {QUESTIONS[i % len(QUESTIONS)]}\nAnswer:", params=params)
        for i in range(count)
    ]


async def timed(generator: Generator, batch: list[CompletionRequest]) -> tuple[float, int]:
    started = time.perf_counter()
    done = await asyncio.gather(*(generator.complete_limited(r) for r in batch))
    return time.perf_counter() - started, sum(c.completion_tokens for c in done)


async def measure(args: argparse.Namespace) -> None:
    prompts = requests(args.prompts, args.max_tokens)
    engine = create_generator("local/gemma-3-270m", {"n_threads": 2})
    engine.max_concurrency = 1
    await timed(engine, prompts[:1])  # load and warm up
    base_s, base_tokens = await timed(engine, prompts)
    await engine.aclose()
    pool_config = ExecutorConfig(kind="ray", replicas=2, num_cpus=1)
    pool = RayPoolGenerator("local/gemma-3-270m", {"n_threads": 1}, pool_config)
    await timed(pool, prompts[:2])
    pool_s, pool_tokens = await timed(pool, prompts)
    await pool.aclose()
    echo_requests = [CompletionRequest(messages=(Message(role="user", content=f"hi {i}"),))
                     for i in range(args.echo_requests)]  # fmt: skip
    direct = create_generator("fake/echo", {})
    direct_s, _ = await timed(direct, echo_requests)
    echo_pool = RayPoolGenerator("fake/echo", {}, ExecutorConfig(kind="ray", replicas=2, concurrency=8))
    await timed(echo_pool, echo_requests[:10])
    echo_s, _ = await timed(echo_pool, echo_requests)
    await echo_pool.aclose()
    print(f"prompts {args.prompts}, max_tokens {args.max_tokens}")
    print(f"one 2-thread engine (baseline): {base_s:.1f}s, {base_tokens / base_s:.1f} tokens/s")
    print(f"two 1-thread Ray replicas:      {pool_s:.1f}s, {pool_tokens / pool_s:.1f} tokens/s")
    print(f"throughput ratio (Ray / baseline): {(pool_tokens / pool_s) / (base_tokens / base_s):.2f}")
    overhead = (echo_s - direct_s) / args.echo_requests
    print(f"Ray overhead per request (echo backend, {args.echo_requests} requests): {1000 * overhead:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--echo-requests", type=int, default=500)
    args = parser.parse_args()
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    try:
        asyncio.run(measure(args))
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
