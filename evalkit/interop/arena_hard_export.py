"""Write a run in Arena-Hard's v0.1 layout (plus a ``baseline`` field v2 readers use).

Pairwise verdicts become judgment files per judge and model: game 1 is the order that showed
model_b (the baseline) first, game 2 the other; a game that was not judged is written with a
null score, which Arena-Hard skips. Imported labels ("A>>B", ...) are written verbatim,
others from the outcome ("A>B", "A=B", "B>A").
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evalkit.interop.bundle import IMPORT_PREFIX
from evalkit.interop.files import write_jsonl
from evalkit.records import Judgment, Order
from evalkit.runner.meta import RunMeta, RunRecords

_LABELS = frozenset({"A>>B", "A>B", "A=B", "B>A", "B>>A"})


def _score(judgment: Judgment | None) -> str | None:
    if judgment is None or judgment.outcome is None or judgment.error is not None:
        return None
    if judgment.label in _LABELS:
        return judgment.label
    if judgment.outcome == "tie":
        return "A=B"
    model_first = judgment.order == "ab"
    return "A>B" if (judgment.outcome == "a") == model_first else "B>A"


def _judge_name(judgment: Judgment) -> str:
    prov = judgment.provenance
    name = prov.judge if prov else judgment.source.removeprefix(IMPORT_PREFIX)
    return name.replace("/", "_").replace(":", "_")


def _games(orders: Mapping[Order, Judgment]) -> list[dict[str, Any]]:
    return [
        {"score": _score(orders.get(order)), "judgment": (orders[order].raw if order in orders else "")}
        for order in ("ba", "ab")
    ]


def write(records: RunRecords, meta: RunMeta, out: Path) -> list[Path]:
    """Write questions, answers and judgments under ``out``; return the files written."""
    questions = [
        {
            "question_id": p.id,
            "category": p.category,
            "cluster": str(p.metadata.get("cluster", "")),
            "turns": [{"content": p.turns[0]}],
        }
        for p in records.prompts
    ]
    written = [write_jsonl(out / "question.jsonl", questions)]
    answers: dict[str, list[dict[str, Any]]] = {}
    for r in records.responses:
        if r.error is None and r.sample == 0:
            choice = {"index": 0, "turns": [{"content": r.text}]}
            row = {"question_id": r.prompt_id, "answer_id": f"{r.system}-{r.prompt_id}", "model_id": r.system}
            answers.setdefault(r.system, []).append({**row, "choices": [choice]})
    for system, rows in answers.items():
        written.append(write_jsonl(out / "model_answer" / f"{system}.jsonl", rows))
    games: dict[tuple[str, str, str, str], dict[Order, Judgment]] = {}
    for j in records.judgments:
        if j.sample == 0 and j.response_sample == 0:
            games.setdefault((j.source, j.model_a, j.model_b, j.prompt_id), {})[j.order] = j
    files: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for (_, model, baseline, prompt_id), orders in games.items():
        judge = _judge_name(next(iter(orders.values())))
        row = {"question_id": prompt_id, "model": model, "baseline": baseline, "judge": judge}
        files.setdefault((judge, model), []).append({**row, "games": _games(orders)})
    for (judge, model), rows in files.items():
        written.append(write_jsonl(out / "model_judgment" / judge / f"{model}.jsonl", rows))
    return written
