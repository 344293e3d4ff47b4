"""Read filled crowd sheets back: every row checked first, then all stored or none.

A sheet with any bad row raises one ConfigError listing every bad row (file, row, field,
what to do) and stores nothing. Rows come from CSV (row numbers count the header as row
1, as spreadsheets do), JSONL (line numbers) or a Label Studio JSON export (one row per
annotation, numbered task.annotation).
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.errors import ConfigError
from evalkit.human.answers import InvalidAnswerError, clean_note, parse_grade, parse_pairwise
from evalkit.human.campaign import Campaign
from evalkit.human.sheets import sheet_format
from evalkit.human.store import Answer, LabelStore, check_name
from evalkit.human.tasks import Catalog, Task
from evalkit.records import Order
from evalkit.runner.rundir import RunDir

MAX_LISTED = 50


@dataclass(frozen=True)
class SheetRow:
    """One filled row, where it was found, and its cells."""

    where: str
    cells: dict[str, Any]


def _csv_rows(path: Path) -> Iterator[SheetRow]:
    with path.open(encoding="utf-8", newline="") as handle:
        for number, cells in enumerate(csv.DictReader(handle), start=2):
            yield SheetRow(f"row {number}", dict(cells))


def _jsonl_rows(path: Path) -> Iterator[SheetRow]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            cells = json.loads(line)
        except json.JSONDecodeError:
            cells = None
        yield SheetRow(f"line {number}", cells if isinstance(cells, dict) else {"__invalid__": True})


def _label_studio_rows(path: Path) -> Iterator[SheetRow]:
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: not valid JSON; export the project again as JSON") from exc
    if not isinstance(tasks, list):
        raise ConfigError(
            f"{path}: a Label Studio export is a JSON list of tasks; export the project as JSON"
        )
    for t_index, task in enumerate(tasks, start=1):
        data = task.get("data", {}) if isinstance(task, dict) else {}
        for a_index, annotation in enumerate(
            task.get("annotations", []) if isinstance(task, dict) else [], 1
        ):
            yield SheetRow(f"task {t_index} annotation {a_index}", _from_annotation(data, annotation))


def _from_annotation(data: dict[str, Any], annotation: Any) -> dict[str, Any]:
    annotation = annotation if isinstance(annotation, dict) else {}
    worker = annotation.get("completed_by")
    if isinstance(worker, dict):
        worker = worker.get("id")
    labels, note = [], ""
    for result in annotation.get("result", []):
        value = result.get("value", {}) if isinstance(result, dict) else {}
        labels += [str(c) for c in value.get("choices", [])]
        note = note or " ".join(str(t) for t in value.get("text", []))
    return {
        "row_id": data.get("row_id", ""),
        "worker": f"labelstudio-{worker}" if isinstance(worker, int) else (worker or ""),
        "label": "|".join(labels),
        "note": note,
    }


def _form(task: Task, label: str, turns: int) -> dict[str, str]:
    if task.kind == "pairwise":
        return {"choice": label}
    if "=" in label:
        pairs = [part.split("=", 1) for part in label.split(";") if part.strip()]
        return {f"aspect-{k.strip()}": v.strip() for k, v in pairs}
    if turns == 1:
        return {"grade": label}
    return {f"grade-{n}": part.strip() for n, part in enumerate(label.split("|"))}


class SheetImporter:
    """Checks every row of a sheet against the run, then stores all of them or none."""

    def __init__(self, run_path: Path, campaign: Campaign) -> None:
        self.catalog = Catalog(campaign, RunDir(run_path, create=False).load_records())
        self.store = LabelStore(run_path)
        self.rows = self.store.sheet_rows()

    def answer(self, row: SheetRow, seen: set[tuple[str, str]]) -> Answer:
        """The answer a row holds; InvalidAnswerError names the field and what to do."""
        cells = row.cells
        if cells.get("__invalid__"):
            raise InvalidAnswerError("(row): not a JSON object; write one object per line")
        exported = self.rows.get(str(cells.get("row_id", "")))
        task = self.catalog.tasks.get(exported[0]) if exported else None
        if exported is None or task is None:
            raise InvalidAnswerError(
                "field 'row_id': unknown row; import sheets exported from this run, with the same --campaign"
            )
        worker = str(cells.get("worker") or "").strip()
        try:
            check_name(worker)
        except ConfigError as exc:
            raise InvalidAnswerError(f"field 'worker': {exc}") from exc
        if (worker, task.id) in seen:
            raise InvalidAnswerError("field 'row_id': this worker labeled the same row twice; keep one")
        seen.add((worker, task.id))
        return self._parsed(task, worker, exported[1], str(cells.get("label") or "").strip(), cells)

    def _parsed(self, task: Task, worker: str, order: str, label: str, cells: dict[str, Any]) -> Answer:
        if not label:
            raise InvalidAnswerError(
                "field 'label': empty; fill it with one of the choices listed in the row"
            )
        note = clean_note(str(cells.get("note") or ""))
        turns = len(self.catalog.prompts[task.prompt_id].turns)
        form = _form(task, label, turns)
        shown: Order = "ba" if order == "ba" else "ab"
        try:
            parsed = (
                parse_pairwise(task, worker, shown, form, note)
                if task.kind == "pairwise"
                else parse_grade(task, worker, turns, form, note)
            )
        except InvalidAnswerError as exc:
            raise InvalidAnswerError(f"field 'label' ({exc})") from exc
        return Answer(
            worker,
            task.id,
            self.store.revision(worker, task.id),
            "label",
            parsed.answer,
            time.time(),
            shown_order=shown,
            note=note,
            check_kind=task.check,
            check_correct=parsed.check_correct,
            records=parsed.records,
        )


def read_rows(path: Path) -> Iterator[SheetRow]:
    """The filled rows of a sheet, whatever its format."""
    kind = sheet_format(path)
    if kind == "csv":
        return _csv_rows(path)
    return _jsonl_rows(path) if kind == "jsonl" else _label_studio_rows(path)


def import_labels(run_path: Path, campaign: Campaign, sheet: Path) -> int:
    """Store a filled sheet's labels (all or nothing); returns how many were stored.

    Raises:
        ConfigError: One message listing every bad row: file, row, field and what to do.

    """
    importer = SheetImporter(run_path, campaign)
    try:
        answers, problems, seen = [], [], set[tuple[str, str]]()
        for row in read_rows(sheet):
            try:
                answers.append(importer.answer(row, seen))
            except InvalidAnswerError as exc:
                problems.append(f"  {sheet}: {row.where}: {exc}")
        if problems:
            more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
            raise ConfigError(
                f"{sheet}: {len(problems)} bad row(s); nothing was stored. Fix them and import again:\n"
                + "\n".join(problems[:MAX_LISTED])
                + more
            )
        importer.store.submit_many(answers)
    finally:
        importer.store.close()
    return len(answers)
