"""Parse rate of every shipped judge on the embedded model, unconstrained vs constrained.

For each judge in judges/*.yaml, on two prompt sets, judges the embedded model's own
answers twice in one process and prints, per judge and set, the share of verdicts that
parse (after the engine's single re-ask, as in a run) and the seconds per verdict:

  before  unconstrained decoding (``structured: off``)
  after   the verdict constrained by a grammar in the judge's own format (``structured: auto``
          on llama.cpp)

Prompt sets: the quickstart's built-in ``lima_style`` prompts, and MT-Bench's two-turn
questions (taken round-robin over its categories, with the GPT-4 reference answers attached
so that reference-guided judges have something to check against; they judge only the
questions that have one). Answers come from the quickstart's in-context aligned system
(greedy, ``--answer-tokens`` tokens a turn); pairwise judges compare it, shown first, with a
fixed non-answer. Judges' ``max_tokens`` is capped at ``--max-tokens`` in both modes to keep
the run short on a CPU (it bounds the rationale of the rationale judges).

    python benchmarks/bench_judge_parse.py [--limit 6] [--max-tokens 40] [--answer-tokens 32]
        [--mt-bench ../shared/data/mt_bench] [--no-before]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from evalkit.cache import CachedCaller, ResponseCache
from evalkit.generators.base import SamplingParams
from evalkit.generators.registry import create_generator
from evalkit.judging import JudgeSpec, LLMGrader, LLMPairwiseJudge, list_judges, make_judge
from evalkit.prompts import load_prompt_set
from evalkit.records import Prompt, Response
from evalkit.system_templates import load_template

MODEL = "local/gemma-3-270m"
# The public data sits beside the checkout (../shared/data), as the tests expect it.
SHARED_MT_BENCH = Path(__file__).resolve().parents[2] / "shared" / "data" / "mt_bench"
NON_ANSWER = "I am not sure. Could you tell me more about what you need?"


@dataclass
class Tally:
    parsed: int = 0
    total: int = 0
    seconds: float = 0.0

    def cell(self) -> str:
        if not self.total:
            return f"{'n/a':>7} {'':>6}"
        return f"{100 * self.parsed / self.total:6.1f}% {self.seconds / self.total:6.2f}"


def quickstart_prompts(limit: int) -> list[Prompt]:
    return list(load_prompt_set("lima_style").prompts[:limit])


def mt_bench_prompts(folder: Path, limit: int) -> list[Prompt]:
    prompts = [p for p in load_prompt_set(folder / "question.jsonl", "mt_bench").prompts if len(p.turns) == 2]
    references = {}
    for line in (folder / "reference_answer_gpt-4.jsonl").read_text().splitlines():
        row = json.loads(line)
        references[str(row["question_id"])] = tuple(row["choices"][0]["turns"])
    by_category: dict[str, list[Prompt]] = defaultdict(list)
    for prompt in prompts:
        reference = references.get(prompt.id)
        by_category[prompt.category].append(prompt.model_copy(update={"reference": reference}))
    mixed = [p for row in itertools.zip_longest(*by_category.values()) for p in row if p is not None]
    return mixed[:limit]


async def answer(caller: CachedCaller, prompts: list[Prompt], max_tokens: int) -> list[Response]:
    template = load_template("icl-alignment")
    params = SamplingParams(temperature=0.0, max_tokens=max_tokens, repetition_penalty=1.15)
    responses = []
    for prompt in prompts:
        outputs: list[str] = []
        for turn in range(len(prompt.turns)):
            completion = await caller(template.render(prompt, turn, outputs, params))
            outputs.append(completion.text.strip())
        responses.append(Response(prompt_id=prompt.id, system="icl", outputs=tuple(outputs)))
    return responses


def capped(spec: JudgeSpec, max_tokens: int) -> JudgeSpec:
    params = spec.params.model_copy(update={"max_tokens": min(spec.params.max_tokens, max_tokens)})
    return spec.model_copy(update={"params": params})


async def measure(
    spec: JudgeSpec, grammar: bool, caller: CachedCaller, items: list[tuple[Prompt, Response]]
) -> Tally:
    judge = make_judge(spec, MODEL, supports_logprobs=True, text_prompt=True, supports_grammar=grammar)
    tally = Tally()
    for prompt, response in items:
        if spec.reference_guided and prompt.reference is None:
            continue
        started = time.perf_counter()
        if isinstance(judge, LLMPairwiseJudge):
            other = Response(prompt_id=prompt.id, system="fixed", outputs=(NON_ANSWER,) * len(prompt.turns))
            judgment = await judge.judge(caller, prompt, response, other, "ab")
            found = [judgment.outcome is not None]
        else:
            assert isinstance(judge, LLMGrader)
            grades = await judge.grade(caller, prompt, response)
            found = [g.label is not None or g.aspects is not None for g in grades]
        tally.seconds += time.perf_counter() - started
        tally.parsed += sum(found)
        tally.total += len(found)
    return tally


async def main(args: argparse.Namespace) -> None:
    generator = create_generator(MODEL)
    sets = {
        "quickstart": quickstart_prompts(args.limit),
        "mt-bench-2turn": mt_bench_prompts(args.mt_bench, args.limit),
    }
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        answers = CachedCaller(generator, ResponseCache(Path(folder) / "answers.sqlite"))
        items = {
            name: list(zip(p, await answer(answers, p, args.answer_tokens), strict=True))
            for name, p in sets.items()
        }
    print(
        f"model: {MODEL}  answers: {time.perf_counter() - started:.0f} s  "
        f"judge max_tokens cap: {args.max_tokens}"
    )
    judge_caller = CachedCaller(generator, None)  # uncached: the timings are real calls
    header = f"{'judge':<22}{'set':<16}{'before: parsed s/verdict':>26}{'after: parsed s/verdict':>26}"
    print(header)
    print("-" * len(header))
    for spec in list_judges():
        for set_name, set_items in items.items():
            run_spec = capped(spec, args.max_tokens)
            before = await measure(run_spec, False, judge_caller, set_items) if args.before else Tally()
            after = await measure(run_spec, True, judge_caller, set_items)
            n = f"n={after.total}"
            print(f"{spec.name:<22}{set_name + ' ' + n:<16}{before.cell():>26}{after.cell():>26}", flush=True)
    print(f"total: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=6, help="prompts per set")
    parser.add_argument("--max-tokens", type=int, default=40, help="cap on the judges' max_tokens")
    parser.add_argument("--answer-tokens", type=int, default=32, help="tokens per answer turn")
    parser.add_argument("--mt-bench", type=Path, default=SHARED_MT_BENCH, help="MT-Bench data folder")
    parser.add_argument(
        "--no-before",
        dest="before",
        action="store_false",
        help="measure only the constrained verdicts (a larger --limit in the same time)",
    )
    asyncio.run(main(parser.parse_args()))
