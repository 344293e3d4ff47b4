"""Generation speed and side-by-side outputs of the local model under two templates.

Usage: python benchmarks/bench_local_templates.py [--limit 24] [--max-tokens 150]
       [--templates plain,icl-alignment] [--show 6] [--threads N]
       [--repetition-penalty 1.1] [--json out.json]

Prints, per template: seconds per response, generated tokens per second, prompt tokens,
stop/length counts, and the ratio of each template's time to the first one's (measured
in the same run); then a few outputs side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from evalkit.generators.base import CompletionRequest, SamplingParams
from evalkit.generators.registry import create_generator
from evalkit.prompts import load_prompt_set
from evalkit.system_templates import load_template


async def engine_speed(generator, templates, prompt):
    """Cold prompt evaluation of each template's full prompt, then pure decoding speed.

    Runs first in a fresh process, so nothing is in llama.cpp's prefix cache yet.
    """
    await generator.complete(CompletionRequest(prompt="Hi", params=SamplingParams(max_tokens=1)))  # load
    for template in templates:
        request = template.render(prompt, params=SamplingParams(max_tokens=1))
        completion = await generator.complete(request)
        rate = completion.prompt_tokens / completion.latency_s
        print(
            f"{template.name:>20}: {completion.prompt_tokens:4d} prompt tokens, cold eval {rate:6.1f} tok/s"
        )
    request = CompletionRequest(prompt="Count: 1, 2, 3,", params=SamplingParams(max_tokens=64))
    completion = await generator.complete(request)
    rate = completion.completion_tokens / completion.latency_s
    print(
        f"{'decode':>20}: {completion.completion_tokens} tokens at {rate:.1f} tok/s (short prompt, no stops)"
    )


async def run_template(generator, template, prompts, params):
    rows = []
    for prompt in prompts:
        outputs, started, tokens, prompt_tokens, finishes = [], time.perf_counter(), 0, 0, []
        for turn in range(len(prompt.turns)):
            request = template.render(prompt, turn, outputs, params)
            completion = await generator.complete(request)
            outputs.append(completion.text)
            tokens += completion.completion_tokens
            prompt_tokens = completion.prompt_tokens
            finishes.append(completion.finish_reason)
        rows.append(
            {
                "id": prompt.id,
                "split": prompt.split,
                "outputs": outputs,
                "seconds": time.perf_counter() - started,
                "tokens": tokens,
                "prompt_tokens": prompt_tokens,
                "finishes": finishes,
            }
        )
    return rows


def summary(name, rows, baseline_seconds):
    seconds = sum(r["seconds"] for r in rows)
    tokens = sum(r["tokens"] for r in rows)
    finishes = [f for r in rows for f in r["finishes"]]
    ratio = seconds / baseline_seconds if baseline_seconds else 1.0
    print(
        f"{name:>20}: {seconds / len(rows):5.2f} s/response  "
        f"{tokens / seconds:6.1f} gen tok/s (incl. prompt)  "
        f"mean prompt {sum(r['prompt_tokens'] for r in rows) / len(rows):5.0f} tok  "
        f"stop {finishes.count('stop')} / length {finishes.count('length')}  total {seconds:6.1f} s  "
        f"x{ratio:.2f} vs first"
    )
    return seconds


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", default="lima_style")
    parser.add_argument("--limit", type=int, default=24)
    parser.add_argument("--max-tokens", type=int, default=150)
    parser.add_argument("--templates", default="plain,icl-alignment")
    parser.add_argument("--show", type=int, default=6)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repetition-penalty", type=float, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    options = {"n_threads": args.threads} if args.threads else {}
    generator = create_generator("local/gemma-3-270m", options)
    prompts = load_prompt_set(args.prompts).filter(limit=args.limit).prompts
    params = SamplingParams(
        temperature=0.0, max_tokens=args.max_tokens, repetition_penalty=args.repetition_penalty
    )
    names = args.templates.split(",")
    templates = [load_template(name) for name in names]
    await engine_speed(generator, [t for t in templates if t.format == "text"], prompts[0])
    results, baseline = {}, 0.0
    for name, template in zip(names, templates, strict=True):
        results[name] = await run_template(generator, template, prompts, params)
        seconds = summary(name, results[name], baseline)
        baseline = baseline or seconds
    for index, prompt in enumerate(prompts[: args.show]):
        print(f"\n=== {prompt.id} ({prompt.split}): {prompt.turns[-1][:100]!r}")
        for name in names:
            print(f"--- {name}: {results[name][index]['outputs'][-1]!r}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
