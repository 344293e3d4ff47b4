"""Throughput and client CPU of evalkit's OpenAI-compatible generator against a fixed-latency server.

A loopback server in a separate process (``tests/api_helpers.py``) answers every chat
completion after exactly ``--latency`` seconds. ``--requests`` distinct requests go
through ``CachedCaller`` (fresh SQLite cache) and the ``openai-compatible`` generator at
``--concurrency``. Printed:

* achieved throughput as a ratio of the ideal, concurrency / latency (320 req/s for 32 and 0.1 s);
* the same for a baseline measured in this run: bare httpx posting the same bodies at the
  same concurrency, no SDK and no cache, the best this machine and server allow;
* client CPU per request (process CPU time of this process only; the server runs elsewhere);
* a second pass through the now warm cache, which must make zero calls.

Targets: at least 0.85 of ideal and under 2 ms of client CPU per request.

Usage: python benchmarks/bench_api_throughput.py [--requests 1000] [--concurrency 32] [--latency 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import httpx

from evalkit.cache import CachedCaller, ResponseCache
from evalkit.generators.api.openai_api import create_compatible
from evalkit.generators.base import CompletionRequest, SamplingParams
from evalkit.records import Message

SERVER_SCRIPT = Path(__file__).resolve().parents[1] / "tests" / "api_helpers.py"


def start_server(latency: float) -> tuple[subprocess.Popen[str], int]:
    command = [sys.executable, str(SERVER_SCRIPT), "--latency", str(latency)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline().split()
    if len(line) != 2 or line[0] != "PORT":
        process.kill()
        raise SystemExit(f"the benchmark server did not start (said {line!r})")
    return process, int(line[1])


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of another process (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_requests(count: int) -> list[CompletionRequest]:
    params = SamplingParams(max_tokens=16)
    return [
        CompletionRequest(
            messages=(Message(role="user", content=f"Question {i}: what is {i} + {i}?"),), params=params
        )
        for i in range(count)
    ]


async def timed(job: Awaitable[Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = await job
    return time.perf_counter() - wall, time.process_time() - cpu, result


async def bare_httpx(url: str, requests: list[CompletionRequest], concurrency: int) -> int:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def one(request: CompletionRequest) -> int:
            body = {
                "model": "bench-model",
                "messages": [m.model_dump() for m in request.messages],
                "max_tokens": 16,
            }
            async with gate:
                reply = await client.post(f"{url}/chat/completions", json=body)
                reply.json()
                return reply.status_code

        codes = await asyncio.gather(*(one(r) for r in requests))
    return sum(code == 200 for code in codes)


async def through_evalkit(url: str, requests: list[CompletionRequest], concurrency: int, cache: Path) -> None:
    options = {"base_url": url, "max_concurrency": concurrency}
    generator = create_compatible("vllm/bench-model", options)
    warm_up = create_compatible("vllm/bench-model", options)
    await warm_up.complete(CompletionRequest(messages=(Message(role="user", content="warm up"),)))
    await warm_up.aclose()

    store = ResponseCache(cache)
    caller = CachedCaller(generator, store)
    wall, cpu, results = await timed(caller.complete_many(requests))
    failures = [r for r in results if isinstance(r, BaseException)]
    ratio, cpu_ms = report(
        "evalkit (openai-compatible + CachedCaller)", wall, cpu, len(requests), concurrency
    )
    print(
        f"  targets: >= 0.85 of ideal {'met' if ratio >= 0.85 else 'NOT met'}; "
        f"< 2 ms CPU/request {'met' if cpu_ms < 2 else 'NOT met'}"
    )
    print(f"  calls {caller.calls}, cache hits {caller.hits}, failures {len(failures)}")

    again = CachedCaller(generator, store)
    wall, cpu, _ = await timed(again.complete_many(requests))
    print(f"second pass through the warm cache: {again.calls} calls, {again.hits} hits, {wall:.3f}s wall")
    await generator.aclose()
    store.close()
    if again.calls != 0 or failures:
        raise SystemExit("FAILED: the warm cache made calls, or requests failed")


def report(label: str, wall: float, cpu: float, count: int, concurrency: int) -> tuple[float, float]:
    ideal = concurrency / ARGS.latency
    achieved = count / wall
    print(
        f"{label}: {count} requests in {wall:.3f}s = {achieved:.1f} req/s, "
        f"{achieved / ideal:.3f} of ideal ({ideal:.0f} req/s); client CPU {1000 * cpu / count:.3f} ms/request"
    )
    return achieved / ideal, 1000 * cpu / count


async def main() -> None:
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs, load average {load:.2f} (other work on the machine lowers both rows)")
    process, port = start_server(ARGS.latency)
    url = f"http://127.0.0.1:{port}/v1"
    requests = make_requests(ARGS.requests)
    try:
        wall, cpu, _ = await timed(bare_httpx(url, requests, ARGS.concurrency))
        report("baseline (bare httpx, no SDK, no cache)", wall, cpu, ARGS.requests, ARGS.concurrency)
        with tempfile.TemporaryDirectory() as folder:
            before = process_cpu_s(process.pid)
            await through_evalkit(url, requests, ARGS.concurrency, Path(folder) / "cache.sqlite")
            after = process_cpu_s(process.pid)
        if before is not None and after is not None:
            per_request = 1000 * (after - before) / (ARGS.requests + 1)
            print(f"  (the server process used {per_request:.3f} ms CPU/request during the evalkit pass)")
    finally:
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.1)
    ARGS = parser.parse_args()
    asyncio.run(main())
