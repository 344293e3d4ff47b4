"""Blinded sheets for crowd platforms: CSV, JSONL and Label Studio tasks.

Each row carries an opaque ``row_id``; which item it is and the A/B order shown are
remembered in the run's labels database at export time and never written to the sheet.
Workers fill ``worker``, ``label`` and optionally ``note``; ``evalkit label import`` maps
the rows back (see ``sheet_import``). Label formats: pairwise ``A`` / ``B`` / ``N`` (the
judge's codes); a grade label such as ``pass``; one label per reply separated by ``|``
for dialogues; ``name=score`` pairs separated by ``;`` for multi-aspect grades.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

from evalkit.errors import ConfigError
from evalkit.human.campaign import Campaign
from evalkit.human.instructions import instructions_for
from evalkit.human.store import LabelStore
from evalkit.human.tasks import Catalog, Task
from evalkit.records import Order, Response
from evalkit.runner.rundir import RunDir

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".json": "labelstudio"}
FILLED = ("worker", "label", "note")
COLUMNS = ("row_id", "kind", "instructions", "choices", "request", "response_a", "response_b", *FILLED)


def sheet_format(path: Path) -> str:
    """The sheet format a file name asks for.

    Raises:
        ConfigError: The suffix is not .csv, .jsonl or .json.

    """
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise ConfigError(f"{path}: unknown sheet format; name it .csv, .jsonl or .json (Label Studio)")
    return found


def row_id(campaign: Campaign, task: Task) -> str:
    """The opaque id of an item's sheet row."""
    return "r" + hashlib.sha256(f"{campaign.seed}|sheet|{task.id}".encode()).hexdigest()[:15]


def sheet_order(campaign: Campaign, task: Task) -> Order:
    """The seeded A/B order of an item's sheet row."""
    if task.kind != "pairwise":
        return "ab"
    digest = hashlib.sha256(f"{campaign.seed}|sheet-order|{task.id}".encode()).hexdigest()
    return "ab" if int(digest[:8], 16) % 2 == 0 else "ba"


def _conversation(turns: tuple[str, ...], response: Response) -> str:
    if len(turns) == 1:
        return response.text
    exchanges = enumerate(zip(turns, response.outputs, strict=False), start=1)
    parts = [f"[{n}] User: {u}\n[{n}] Assistant: {a}" for n, (u, a) in exchanges]
    return "\n\n".join(parts)


def _row(catalog: Catalog, task: Task) -> dict[str, Any]:
    prompt = catalog.prompts[task.prompt_id]
    instructions = instructions_for(task.judge)
    if task.check == "attention" and task.distractor:
        shown = [
            catalog.response(task.prompt_id, task.systems[0]),
            catalog.response(task.distractor, task.systems[0]),
        ]
    else:
        shown = [catalog.response(task.prompt_id, s) for s in task.systems]
    if sheet_order(catalog.campaign, task) == "ba":
        shown.reverse()
    texts = [_conversation(prompt.turns, r) for r in shown]
    choices = [f"{c.code} = {c.definition}" for c in instructions.choices]
    choices += [f"{a.name}={a.minimum}..{a.maximum}" for a in instructions.judge.aspects]
    return {
        "row_id": row_id(catalog.campaign, task),
        "kind": task.kind if len(prompt.turns) == 1 else f"{task.kind} (one label per reply, joined by |)",
        "instructions": instructions.text,
        "choices": "\n".join(choices),
        "request": prompt.turns[0] if len(prompt.turns) == 1 else "\n".join(prompt.turns),
        "response_a": texts[0],
        "response_b": texts[1] if len(texts) > 1 else "",
        **dict.fromkeys(FILLED, ""),
    }


def export_items(run_path: Path, campaign: Campaign, output: Path) -> int:
    """Write every campaign item as a blinded sheet row and remember the rows; returns the count.

    Raises:
        ConfigError: The run, campaign or output name is invalid.

    """
    kind = sheet_format(output)
    catalog = Catalog(campaign, RunDir(run_path, create=False).load_records())
    tasks = sorted(catalog.tasks.values(), key=lambda t: row_id(campaign, t))
    rows = [_row(catalog, task) for task in tasks]
    store = LabelStore(run_path)
    try:
        store.save_sheet_rows([(row_id(campaign, t), t.id, sheet_order(campaign, t)) for t in tasks])
    finally:
        store.close()
    output.parent.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        with output.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    elif kind == "jsonl":
        output.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    else:
        tasks_json = [{"data": {k: v for k, v in r.items() if k not in FILLED}} for r in rows]
        output.write_text(json.dumps(tasks_json, ensure_ascii=False, indent=1), encoding="utf-8")
    return len(rows)
