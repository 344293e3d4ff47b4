"""Write a run in FastChat's llm_judge layout, which MT-Bench's own scripts read back.

Native evalkit verdicts are written too: a pairwise verdict's "ab" order becomes game 1 and
its "ba" order game 2 (an order that was not judged is written as "error"); grades on a
numeric scale become single judgments. The judge is ``[model, judge name]`` from the
record's provenance (or its source when it has none).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evalkit.interop.bundle import IMPORT_PREFIX
from evalkit.interop.files import write_jsonl
from evalkit.records import Grade, Judgment, Outcome, Prompt, Response
from evalkit.runner.meta import RunMeta, RunRecords

_WINNER_OF: dict[Outcome | None, str] = {"a": "model_1", "b": "model_2", "tie": "tie", None: "error"}


def _question_id(prompt_id: str) -> int | str:
    return int(prompt_id) if prompt_id.isdigit() else prompt_id


def _judge(record: Judgment | Grade) -> list[str]:
    prov = record.provenance
    if prov is not None and isinstance(prov.params.get("fastchat_judge"), list):
        return [str(part) for part in prov.params["fastchat_judge"]]
    name = record.source.removeprefix(IMPORT_PREFIX)
    return [prov.model_spec or name if prov else name, prov.judge if prov else name]


def _turn(record: Judgment | Grade, prompts: Mapping[str, Prompt]) -> int:
    if isinstance(record, Grade) and record.turn is not None:
        return record.turn
    prov = record.provenance
    if prov is not None and isinstance(prov.params.get("turn"), int):
        return int(prov.params["turn"])
    prompt = prompts.get(record.prompt_id)
    return len(prompt.turns) if prompt else 1


def _question(prompt: Prompt) -> dict[str, Any]:
    row: dict[str, Any] = {
        "question_id": _question_id(prompt.id),
        "category": prompt.category,
        "turns": list(prompt.turns),
    }
    if prompt.reference:
        row["reference"] = list(prompt.reference)
    return row


def _answers(system: str, responses: Sequence[Response]) -> list[dict[str, Any]]:
    by_prompt: dict[str, list[Response]] = {}
    for response in sorted(responses, key=lambda r: r.sample):
        by_prompt.setdefault(response.prompt_id, []).append(response)
    return [
        {
            "question_id": _question_id(prompt_id),
            "answer_id": f"{system}-{prompt_id}",
            "model_id": system,
            "choices": [{"index": i, "turns": list(r.outputs)} for i, r in enumerate(group)],
        }
        for prompt_id, group in by_prompt.items()
    ]


def _single(grade: Grade, prompts: Mapping[str, Prompt]) -> dict[str, Any]:
    return {
        "question_id": _question_id(grade.prompt_id),
        "model": grade.system,
        "judge": _judge(grade),
        "judgment": grade.raw,
        "score": grade.score if grade.score is not None else -1,
        "turn": _turn(grade, prompts),
    }


def _pairs(judgments: Sequence[Judgment], prompts: Mapping[str, Prompt]) -> list[dict[str, Any]]:
    games: dict[tuple[Any, ...], dict[str, Judgment]] = {}
    for j in judgments:
        key = (j.prompt_id, j.model_a, j.model_b, j.source, j.sample, j.response_sample)
        games.setdefault(key, {})[j.order] = j
    rows = []
    for (prompt_id, model_1, model_2, *_), orders in games.items():
        first = orders.get("ab") or orders["ba"]
        row: dict[str, Any] = {
            "question_id": _question_id(prompt_id),
            "model_1": model_1,
            "model_2": model_2,
            "judge": _judge(first),
            "turn": _turn(first, prompts),
        }
        for game, order in (("g1", "ab"), ("g2", "ba")):
            judged = orders.get(order)
            usable = judged is not None and judged.error is None
            row[f"{game}_winner"] = _WINNER_OF[judged.outcome if usable and judged else None]
            row[f"{game}_judgment"] = judged.raw if judged else ""
        rows.append(row)
    return rows


def _by_judge_model(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(str(row["judge"][0]).replace("/", "_"), []).append(row)
    return grouped


def write(records: RunRecords, meta: RunMeta, out: Path) -> list[Path]:
    """Write questions, answers and judgments under ``out``; return the files written."""
    prompts = {p.id: p for p in records.prompts}
    written = [write_jsonl(out / "question.jsonl", [_question(p) for p in records.prompts])]
    systems: dict[str, list[Response]] = {}
    for response in records.responses:
        if response.error is None:
            systems.setdefault(response.system, []).append(response)
    for system, responses in systems.items():
        written.append(write_jsonl(out / "model_answer" / f"{system}.jsonl", _answers(system, responses)))
    singles = [_single(g, prompts) for g in records.grades if g.aspects is None]
    for judge, rows in _by_judge_model(singles).items():
        written.append(write_jsonl(out / "model_judgment" / f"{judge}_single.jsonl", rows))
    for judge, rows in _by_judge_model(_pairs(records.judgments, prompts)).items():
        written.append(write_jsonl(out / "model_judgment" / f"{judge}_pair.jsonl", rows))
    return written
