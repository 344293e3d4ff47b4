"""The portable llama.cpp build (mk/llama.mk) against a native build without AMX, same prompts.

Usage: python benchmarks/bench_llama_build.py [--prompts 6] [--max-tokens 48] [--rounds 3]
       [--threads 1,2] [--json out.json] [--candidate WHEEL]

The portable build is the llama-cpp-python installed beside this interpreter (`make install`),
or the wheel given with --candidate (e.g. the one `make llama-wheel LLAMA_CPU=avx512` builds).
The native one is built here once, from the same llama-cpp-python version, with
GGML_NATIVE=ON (-march=native: AVX-512, VNNI, BF16 on this CPU) but the AMX extensions
switched off (they crash on some AMX Xeons), cached under .cache/llama-cpp/bench-native-*
by version and flags, and installed into a temporary virtualenv. Both builds run the same
prompts (the icl-alignment template over the lima_style set, so prompts are a few hundred
tokens) greedily on the packaged Gemma 3 270M model, each in its own child process, in
alternating order for a few rounds; the best round of each counts, since other work on the
machine only ever slows a round down. Prints prompt-eval and generation tokens/s per thread
count, per wall-clock second and per CPU second of the child (on a busy machine the second
is the steadier), and the ratio portable/native (target: at least 0.9).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NO_AMX = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
NATIVE_ENV = {
    "CMAKE_ARGS": "-DGGML_NATIVE=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF",
    # GCC lets an explicit -mno-<isa> win over what -march=native turns on, in any order.
    "CFLAGS": NO_AMX,
    "CXXFLAGS": NO_AMX,
}


def native_wheel(version):
    """The native (no AMX) wheel of this llama-cpp-python version, built on first use."""
    key = hashlib.sha256(json.dumps([version, NATIVE_ENV], sort_keys=True).encode()).hexdigest()[:12]
    folder = ROOT / ".cache" / "llama-cpp" / f"bench-native-{version}-{key}"
    wheels = sorted(folder.glob("llama_cpp_python-*.whl"))
    if wheels:
        return wheels[0]
    print(f"building the native llama-cpp-python {version} (several minutes) into {folder}", flush=True)
    partial = folder.with_name(folder.name + ".tmp")
    subprocess.run(["rm", "-rf", str(partial)], check=True)
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-cache-dir"]
    command += ["--no-binary", "llama-cpp-python", "-w", str(partial), f"llama-cpp-python=={version}"]
    subprocess.run(command, check=True, env={**os.environ, **NATIVE_ENV})
    (partial / "build-env.json").write_text(json.dumps(NATIVE_ENV, indent=1))
    partial.rename(folder)
    return next(folder.glob("llama_cpp_python-*.whl"))


def wheel_python(wheel, folder):
    """A virtualenv holding only this llama-cpp-python wheel; other packages come from ours."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    python = folder / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True)
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # A .pth line is appended after the venv's own site-packages, so its llama_cpp wins.
    Path(site, "benchmark-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def bench_prompts(count):
    from evalkit.templates import load_template

    from evalkit.prompts import load_prompt_set

    template = load_template("icl-alignment")
    prompts = load_prompt_set("lima_style").prompts[:count]
    return [template.render(prompt).prompt for prompt in prompts]


class Clock:
    """Wall time and this process's CPU time (all threads) since creation.

    On a busy machine wall time mostly measures the wait for a core; CPU time measures the
    work, which is what differs between the builds.
    """

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def add_to(self, row, key):
        row[f"{key}_s"] += time.perf_counter() - self.wall
        row[f"{key}_cpu"] += time.process_time() - self.cpu


def child(args):
    """In the child: time prompt evaluation and greedy generation for each thread count."""
    import llama_cpp

    prompts, results = json.loads(Path(args.prompt_file).read_text()), []
    for threads in args.threads:
        # n_threads_batch too: left alone, llama-cpp-python evaluates prompts on every CPU.
        llama = llama_cpp.Llama(
            model_path=args.model,
            n_ctx=2048,
            n_batch=512,
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,
        )
        llama.eval(llama.tokenize(b"Warm up."))
        row = dict.fromkeys(("prompt_tokens", "prompt_s", "prompt_cpu", "gen_tokens", "gen_s", "gen_cpu"), 0)
        outputs = []
        for text in prompts:
            llama.reset()
            tokens = llama.tokenize(text.encode("utf-8"), special=True)
            clock = Clock()
            llama.eval(tokens)
            clock.add_to(row, "prompt")
            row["prompt_tokens"] += len(tokens)
            clock, generated = Clock(), []
            for _ in range(args.max_tokens):  # a fixed count, end-of-text or not: same work each build
                generated.append(llama.sample(temp=0.0))
                llama.eval(generated[-1:])
            clock.add_to(row, "gen")
            row["gen_tokens"] += len(generated)
            outputs.append(generated)
        results.append({**row, "threads": threads, "outputs": outputs})
        del llama
    info = llama_cpp.llama_print_system_info().decode()
    print(json.dumps({"module": llama_cpp.__file__, "system_info": info, "runs": results}))


def run_child(python, args, prompt_file, model):
    command = [str(python), __file__, "--child", "--prompt-file", str(prompt_file), "--model", str(model)]
    command += ["--max-tokens", str(args.max_tokens), "--threads", ",".join(map(str, args.threads))]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{python} child failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def best(rounds, threads, key, clock):
    rates = []
    for result in rounds:
        row = next(r for r in result["runs"] if r["threads"] == threads)
        rates.append(row[f"{key}_tokens"] / row[f"{key}_{clock}"])
    return max(rates)


def report(results, args):
    for name, rounds in results.items():
        print(f"{name:>9}: {rounds[0]['module']}\n{'':>11}{rounds[0]['system_info'].strip()}")
    print("\ntokens/s, best of rounds: per wall-clock second, and per CPU second of the process")
    columns = f"{'portable':>9} {'native':>9} {'ratio':>6}"
    print(f"{'threads':>7} {'metric':>7} {columns}   {columns}")
    summary = []
    for threads in args.threads:
        for key in ("prompt", "gen"):
            row = {"threads": threads, "metric": key}
            for clock in ("s", "cpu"):
                portable = best(results["portable"], threads, key, clock)
                native = best(results["native"], threads, key, clock)
                row |= {
                    f"portable_{clock}": portable,
                    f"native_{clock}": native,
                    f"ratio_{clock}": portable / native,
                }
            print(
                f"{threads:>7} {key:>7} {row['portable_s']:9.1f} {row['native_s']:9.1f} {row['ratio_s']:6.2f}"
                f"   {row['portable_cpu']:9.1f} {row['native_cpu']:9.1f} {row['ratio_cpu']:6.2f}"
            )
            summary.append(row)
    same = sum(
        a == b
        for p, n in zip(results["portable"][0]["runs"], results["native"][0]["runs"], strict=True)
        for a, b in zip(p["outputs"], n["outputs"], strict=True)
    )
    total = len(args.threads) * len(results["portable"][0]["runs"][0]["outputs"])
    print(f"\ngreedy outputs identical in both builds: {same}/{total}")
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=6)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--candidate", type=Path, help="a wheel to measure instead of the installed build")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--prompt-file", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    from evalkit.generators.llamacpp.backend import packaged_model_path

    model = packaged_model_path("gemma-3-270m")
    wheel = native_wheel(metadata.version("llama-cpp-python"))
    with tempfile.TemporaryDirectory(prefix="bench-llama-") as scratch:
        prompt_file = Path(scratch, "prompts.json")
        prompt_file.write_text(json.dumps(bench_prompts(args.prompts)))
        mine = wheel_python(args.candidate, Path(scratch, "mine")) if args.candidate else Path(sys.executable)
        builds = {"portable": mine, "native": wheel_python(wheel, Path(scratch, "venv"))}
        results = {name: [] for name in builds}
        for round_index in range(args.rounds):
            order = list(builds) if round_index % 2 == 0 else list(reversed(builds))
            for name in order:
                results[name].append(run_child(builds[name], args, prompt_file, model))
            print(f"round {round_index + 1}/{args.rounds} done", flush=True)
    summary = report(results, args)
    if args.json:
        args.json.write_text(json.dumps({"results": summary, "args": vars(args)}, default=str))


if __name__ == "__main__":
    main()
