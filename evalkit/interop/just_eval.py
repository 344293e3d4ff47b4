"""just-eval files: model outputs (``*.to_eval.json``) and scores, in and out.

Outputs are lists of {id, instruction, output, generator, dataset, source_id, datasplit,
category}. Score files are the same items plus ``parsed_result``: one entry per aspect
(helpfulness, clarity, factuality, depth, engagement; or safety) holding {score (1-5),
reason}. Scores become multi-aspect Grades on the ``just_eval_1_5`` scale (score = the mean of
the aspects read), from the judge ``imported.judge_hint`` names (default "just_eval").

just-eval's ``generator`` is sometimes a results path ("just_results_aligned//gpt-4-0613.json");
the system is then its last component without ".json".
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from statistics import fmean
from typing import Any

from evalkit.interop.bundle import Imported, import_source, provenance
from evalkit.interop.files import Entry, read_json_list, write_json_list
from evalkit.records import Grade, Prompt, Response
from evalkit.runner.meta import RunMeta, RunRecords

FORMAT = "just_eval"
SCALE = "just_eval_1_5"
DEFAULT_JUDGE = "just_eval"
_KEPT = ("source_id", "dataset", "datasplit")


def system_name(generator: str) -> str:
    """The system a just-eval ``generator`` field names."""
    return generator.rstrip("/").rsplit("/", 1)[-1].removesuffix(".json") if "/" in generator else generator


def read(paths: Sequence[Path], imported: Imported) -> None:
    """Add outputs (and scores, where a file has ``parsed_result``) from every just-eval file."""
    judge = imported.judge_hint or DEFAULT_JUDGE
    for path in paths:
        for entry in read_json_list(path):
            prompt = _prompt(entry)
            imported.add_prompt(prompt)
            system = system_name(entry.text("generator"))
            imported.add_response(
                Response(prompt_id=prompt.id, system=system, outputs=(entry.text("output"),))
            )
            if "parsed_result" in entry.data:
                imported.grades.append(_grade(entry, prompt.id, system, judge))


def _prompt(entry: Entry) -> Prompt:
    return Prompt(
        id=entry.key("id"),
        turns=(entry.text("instruction"),),
        category=str(entry.data.get("category") or "uncategorized"),
        metadata={"source": FORMAT, **{k: entry.data[k] for k in _KEPT if k in entry.data}},
    )


def _aspect_score(entry: Entry, aspect: str, value: Any) -> float | None:
    score = value.get("score") if isinstance(value, dict) else None
    try:
        number = float(score) if score is not None else None
    except (TypeError, ValueError):
        return None  # just-eval writes "N/A" when its judge gave no score: unread, not scored
    if number is not None and not 1 <= number <= 5:
        raise entry.fail(f"parsed_result.{aspect}.score", f"{score!r} is outside 1 to 5")
    return number


def _grade(entry: Entry, prompt_id: str, system: str, judge: str) -> Grade:
    parsed = entry.require("parsed_result", dict)
    aspects = {a: s for a, v in parsed.items() if (s := _aspect_score(entry, a, v)) is not None}
    reasons = {a: v.get("reason", "") for a, v in parsed.items() if isinstance(v, dict)}
    return Grade(
        prompt_id=prompt_id,
        system=system,
        scale=SCALE,
        source=import_source(judge),
        label=None,
        score=fmean(aspects.values()) if aspects else None,
        aspects=aspects or None,
        rationale="\n".join(f"{a}: {r}" for a, r in reasons.items() if r),
        error=None if aspects else "no aspect score could be read",
        provenance=provenance(judge, format=FORMAT, aspects=sorted(parsed)),
    )


def _item(prompt: Prompt, response: Response) -> dict[str, Any]:
    meta = prompt.metadata
    return {
        "id": int(prompt.id) if prompt.id.isdigit() else prompt.id,
        "instruction": prompt.turns[0],
        **{k: meta[k] for k in _KEPT if k in meta},
        "category": prompt.category,
        "output": response.text,
        "generator": response.system,
    }


def _parsed_result(grade: Grade) -> dict[str, dict[str, Any]]:
    reasons = dict(line.split(": ", 1) for line in grade.rationale.splitlines() if ": " in line)
    return {a: {"reason": reasons.get(a, ""), "score": f"{s:g}"} for a, s in (grade.aspects or {}).items()}


def write(records: RunRecords, meta: RunMeta, out: Path) -> list[Path]:
    """Write ``<system>.to_eval.json`` per system and ``<system>.score_multi.json`` where graded."""
    prompts = {p.id: p for p in records.prompts}
    grades = {(g.prompt_id, g.system): g for g in records.grades if g.aspects and g.sample == 0}
    by_system: dict[str, list[Response]] = {}
    for r in records.responses:
        if r.error is None and r.sample == 0 and r.prompt_id in prompts:
            by_system.setdefault(r.system, []).append(r)
    written = []
    for system, responses in by_system.items():
        items = [_item(prompts[r.prompt_id], r) for r in responses]
        written.append(write_json_list(out / f"{system}.to_eval.json", items))
        scored = [
            {**item, "parsed_result": _parsed_result(grades[(r.prompt_id, system)])}
            for item, r in zip(items, responses, strict=True)
            if (r.prompt_id, system) in grades
        ]
        if scored:
            written.append(write_json_list(out / f"{system}.score_multi.json", scored))
    return written
