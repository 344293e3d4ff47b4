"""Load on the labeling server: concurrent simulated annotators posting labels on loopback.

Starts `evalkit label serve` in its own process on a fake run, lets N annotators (httpx
async clients, one cookie jar each) open an item and post a label as fast as the server
answers, for a fixed time, then reads the labels database back. Prints labels/s, the
p50/p95 latency of the posts, the same for a static file on the same server (the baseline
an HTTP round trip costs here) with the ratio, and labels stored vs acknowledged, which
must be equal. Target: p95 of the posts under 50 ms on a 2-core machine.

    .venv/bin/python benchmarks/bench_label_load.py [--seconds 60] [--annotators 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from human_helpers import make_run, write_campaign

from evalkit.human.store import LabelStore

FORM = re.compile(r'name="form" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


async def annotator(url: str, token: str, deadline: float, latencies: list[float], acked: list[int]) -> None:
    """Open the next item (or revisit an answered one), post a label, repeat until the deadline."""
    rng = random.Random(token)
    answered: list[str] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        page = await client.get(f"/start?token={token}", follow_redirects=True)
        while time.monotonic() < deadline:
            if not page.url.path.startswith("/item/"):  # queue done: change earlier answers
                page = await client.get(rng.choice(answered))
            path = page.url.path
            form = FORM.search(page.text)
            assert form, page.text[:300]
            started = time.perf_counter()
            response = await client.post(path, data={"form": form.group(1), "choice": rng.choice("ABN")})
            latencies.append(time.perf_counter() - started)
            if response.status_code == 303:
                acked[0] += 1
                answered.append(path)
                page = await client.get(response.headers["location"])  # the next item, as a browser would
            else:
                raise AssertionError(f"post refused: {response.status_code} {response.text[:200]}")


async def static_baseline(url: str, clients: int, seconds: float) -> list[float]:
    """Latency of a static file from the same server, under the same concurrency."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def one() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                (await client.get("/static/label.css")).raise_for_status()
                latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(one() for _ in range(clients)))
    return latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(run: Path, campaign: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "evalkit.cli",
        "label",
        "serve",
        str(run),
        str(campaign),
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/static/label.css", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"the server did not start: {log.read_text()}")


async def main_async(args: argparse.Namespace, url: str, tokens: list[str]) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    acked = [0]
    started = time.monotonic()
    deadline = started + args.seconds
    await asyncio.gather(*(annotator(url, t, deadline, latencies, acked) for t in tokens))
    return latencies, acked[0], time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--annotators", type=int, default=20)
    parser.add_argument("--prompts", type=int, default=200)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-label-"))
    run = make_run(folder, args.prompts)
    campaign = write_campaign(folder, tasks=[{"kind": "pairwise", "overlap": args.prompts}])
    store = LabelStore(run)
    tokens = [store.add_person(f"annotator{i:02d}") for i in range(args.annotators)]
    store.close()
    port = free_port()
    server = start_server(run, campaign, port, folder / "server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        baseline = asyncio.run(static_baseline(url, args.annotators, min(10.0, args.seconds)))
        cpu_before, client_before = cpu_seconds(server.pid), time.process_time()
        latencies, acked, elapsed = asyncio.run(main_async(args, url, tokens))
        server_cpu = cpu_seconds(server.pid) - cpu_before
        client_cpu = time.process_time() - client_before
    finally:
        server.send_signal(signal.SIGKILL)  # the hardest stop: stored must still equal acknowledged
        server.wait()
    store = LabelStore(run)
    stored = store.count_answers()
    store.close()
    p50, p95 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.95) * 1000
    b50, b95 = percentile(baseline, 0.5) * 1000, percentile(baseline, 0.95) * 1000
    print(f"{args.annotators} annotators, {elapsed:.1f} s, {args.prompts} items each")
    print(f"labels/s:               {acked / elapsed:.1f}")
    print(f"label post latency:     p50 {p50:.1f} ms, p95 {p95:.1f} ms (target p95 < 50 ms)")
    print(f"static file (baseline): p50 {b50:.1f} ms, p95 {b95:.1f} ms")
    print(f"ratio label/static:     p50 {p50 / b50:.2f}x, p95 {p95 / b95:.2f}x")
    print(f"server CPU per label:   {server_cpu / max(acked, 1) * 1000:.2f} ms (item page + post)")
    print(f"client CPU per label:   {client_cpu / max(acked, 1) * 1000:.2f} ms (the 20 simulated annotators)")
    print(f"load average (1 min):   {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"labels acknowledged:    {acked}")
    print(f"labels stored:          {stored} ({'equal' if stored == acked else 'MISMATCH'})")
    if stored != acked:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
