"""Synthetic judge requests through evalkit's batch path against the loopback stand-in.

The stand-in of the OpenAI Batch endpoints (``tests/batch_standin.py``) runs in a separate
process; this process does what a run does for a batched judge: every request misses the
cache and is written to request files (rolled over at 50,000 requests), the files are
uploaded and submitted, the batches polled, the results downloaded to disk and stored by
custom id, and every request asked again, answered from its stored result and cached.
Printed:

* client CPU per request (this process only) for the whole path, and for a baseline
  measured in this run: building the same requests and hashing their cache keys, which any
  path must do;
* peak RSS of this process, and the RSS after imports as its baseline;
* that every request came back and none was submitted twice.

Targets: under 0.2 ms of client CPU per request and peak RSS under 1 GB at a million
requests (files are streamed, never held whole).

Usage: python benchmarks/bench_batch.py [--requests 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from evalkit.batch.caller import BatchCaller, BatchSettings
from evalkit.batch.coordinator import BatchCoordinator
from evalkit.cache import CachedCaller, ResponseCache
from evalkit.errors import RequestInBatch
from evalkit.generators.api.openai_api import create_openai
from evalkit.generators.base import CompletionRequest, SamplingParams
from evalkit.records import Message

ROOT = Path(__file__).resolve().parents[1]
JUDGE = (
    "Compare two answers to the user's question. Reply with A if the first is significantly better, "
    "B if the second is, N if neither.\n\nQuestion: {q}\n\nAnswer A: {a}\n\nAnswer B: {b}"
)
PARAMS = SamplingParams(temperature=0.0, max_tokens=4, seed=0)


def judge_requests(count: int) -> Iterator[CompletionRequest]:
    """Distinct judge-shaped requests, generated lazily (about 330 characters each)."""
    for i in range(count):
        text = JUDGE.format(q=f"How do I sort list number {i}?", a=f"Use sorted() on list {i}.", b="Loop.")
        yield CompletionRequest(messages=(Message(role="user", content=text),), params=PARAMS)


def cpu_s() -> float:
    times = os.times()
    return times.user + times.system


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def start_standin() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.batch_standin"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, f"http://127.0.0.1:{line.split()[1]}/v1"


def baseline(count: int, caller: CachedCaller) -> float:
    started = cpu_s()
    for request in judge_requests(count):
        caller.key(request)
    return cpu_s() - started


async def batch_path(count: int, caller: BatchCaller, coordinator: BatchCoordinator) -> tuple[int, int]:
    queued = answered = 0
    for request in judge_requests(count):
        try:
            await caller(request)
        except RequestInBatch:
            queued += 1
    await coordinator.settle()
    for request in judge_requests(count):
        completion = await caller(request)
        answered += completion.text in {"A", "B", "N"}
    caller.flush()
    await caller.generator.aclose()
    return queued, answered


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1_000_000)
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench-not-a-real-key")
    rss_after_imports = peak_rss_mb()
    server, url = start_standin()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-batch-") as folder:
            generator = create_openai("gpt-4o-mini", {"base_url": url})
            cache = ResponseCache(Path(folder) / "cache.sqlite")
            coordinator = BatchCoordinator(Path(folder) / "batches", "bench")
            caller = BatchCaller(generator, cache, coordinator, BatchSettings(enabled=True, poll_s=0.5))
            base_cpu = baseline(args.requests, caller)
            started, wall = cpu_s(), time.perf_counter()
            queued, answered = asyncio.run(batch_path(args.requests, caller, coordinator))
            path_cpu, wall = cpu_s() - started, time.perf_counter() - wall
            files = sum(1 for _ in (Path(folder) / "batches").glob("requests-*[0-9a-f].jsonl"))
            coordinator.close()
            cache.close()
        with urllib.request.urlopen(url.removesuffix("/v1") + "/_standin/counters") as reply:
            counters = json.load(reply)
    finally:
        server.terminate()
        server.wait()
    n = args.requests
    print(f"requests: {n}, queued {queued}, answered {answered}, request files {files}, wall {wall:.1f}s")
    print(
        f"stand-in: {counters['batches_created']} batches, {counters['requests_submitted']} requests, "
        f"most submissions of one request: {counters['max_submissions_per_request']}"
    )
    print(
        f"client CPU per request: batch path {1000 * path_cpu / n:.4f} ms, "
        f"baseline (build + key) {1000 * base_cpu / n:.4f} ms, ratio {path_cpu / base_cpu:.2f}"
    )
    print(f"peak RSS: {peak_rss_mb():.0f} MB (after imports: {rss_after_imports:.0f} MB)")
    ok = answered == n and counters["max_submissions_per_request"] == 1
    ok = ok and path_cpu / n < 0.0002 and peak_rss_mb() < 1024
    print(
        "targets (< 0.2 ms CPU per request, peak RSS < 1 GB, all back, none twice):",
        "met" if ok else "MISSED",
    )


if __name__ == "__main__":
    main()
