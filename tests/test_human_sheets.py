"""Crowd sheets: blinded export, import back into records, and all-or-nothing validation."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from human_helpers import SECRET_MODELS, SECRET_SYSTEMS, jsonl, make_run, write_campaign

from evalkit.cli import main
from evalkit.errors import ConfigError
from evalkit.human.campaign import Campaign
from evalkit.human.sheet_import import import_labels
from evalkit.human.sheets import export_items
from evalkit.records import swap_outcome
from evalkit.runner.rundir import RunDir

GRADES = Campaign.model_validate({"tasks": [{"kind": "grade", "systems": [SECRET_SYSTEMS[1]]}]})


@pytest.fixture(scope="module")
def base_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("sheets"), 6, multi_turn_every=3)


@pytest.fixture
def run(base_run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(base_run, copy)
    return copy


def human(run: Path) -> tuple[list, list]:  # type: ignore[type-arg]
    records = RunDir(run, create=False).load_records()
    return (
        [j for j in records.judgments if j.source.startswith("human:")],
        [g for g in records.grades if g.source.startswith("human:")],
    )


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_csv_sheets_are_blind_and_come_back_as_records(run: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.csv"
    assert export_items(run, Campaign(), sheet) == 6
    text = sheet.read_text()
    for secret in (*SECRET_SYSTEMS, *SECRET_MODELS):
        assert secret not in text
    rows = read_csv(sheet)
    for row in rows:
        row.update(worker="w1", label="A", note="shown first")
    write_csv(sheet, rows)
    assert import_labels(run, Campaign(), sheet) == 6
    judgments, _ = human(run)
    assert len(judgments) == 6 and {j.source for j in judgments} == {"human:w1"}
    assert {j.order for j in judgments} == {"ab", "ba"}
    for j in judgments:
        assert j.outcome == ("a" if j.order == "ab" else swap_outcome("a"))


def test_a_sheet_with_bad_rows_lists_every_one_and_stores_nothing(run: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.csv"
    export_items(run, Campaign(), sheet)
    rows = read_csv(sheet)
    for row in rows:
        row.update(worker="w1", label="B")
    rows[1]["label"] = "maybe"
    rows[2]["worker"] = "not a name!"
    rows[3]["row_id"] = "r-made-up"
    rows[4]["label"] = ""
    rows.append(dict(rows[0]))  # the same worker twice on one row
    write_csv(sheet, rows)
    with pytest.raises(ConfigError) as caught:
        import_labels(run, Campaign(), sheet)
    message = str(caught.value)
    assert "5 bad row(s); nothing was stored" in message
    assert f"{sheet}: row 3: field 'label' (field 'choice' must be one of A, B, N)" in message
    assert "row 4: field 'worker'" in message
    assert "row 5: field 'row_id': unknown row" in message
    assert "row 6: field 'label': empty" in message
    assert "row 8: field 'row_id': this worker labeled the same row twice" in message
    assert human(run) == ([], [])


def test_jsonl_grades_with_per_reply_labels(run: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "grades.jsonl"
    assert export_items(run, GRADES, sheet) == 6
    filled = []
    for row in jsonl(sheet):
        two_turns = "|" in row["kind"]
        filled.append({**row, "worker": "w2", "label": "fail|excellent" if two_turns else "pass"})
    sheet.write_text("".join(json.dumps(r) + "\n" for r in filled))
    assert import_labels(run, GRADES, sheet) == 6
    _, grades = human(run)
    assert sorted((g.turn, g.label) for g in grades if g.turn is not None) == [
        (0, "fail"),
        (0, "fail"),
        (1, "excellent"),
        (1, "excellent"),
    ]
    assert sum(1 for g in grades if g.turn is None and g.label == "pass") == 4


def test_label_studio_tasks_and_export(run: Path, tmp_path: Path) -> None:
    tasks_file = tmp_path / "tasks.json"
    export_items(run, Campaign(), tasks_file)
    tasks = json.loads(tasks_file.read_text())
    assert all(set(t["data"]) >= {"row_id", "request", "response_a", "response_b"} for t in tasks)
    for number, task in enumerate(tasks):
        choice = {"from_name": "label", "type": "choices", "value": {"choices": ["N"]}}
        task["annotations"] = [{"completed_by": 7, "result": [choice]}]
        if number == 0:
            task["annotations"].append({"completed_by": 7, "result": []})
    filled = tmp_path / "export.json"
    filled.write_text(json.dumps(tasks))
    with pytest.raises(ConfigError, match="task 1 annotation 2: field 'row_id': this worker labeled"):
        import_labels(run, Campaign(), filled)
    tasks[0]["annotations"].pop()
    filled.write_text(json.dumps(tasks))
    assert import_labels(run, Campaign(), filled) == 6
    judgments, _ = human(run)
    assert {(j.source, j.outcome) for j in judgments} == {("human:labelstudio-7", "tie")}


def test_cli_export_and_import(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    campaign = write_campaign(tmp_path, tasks=[{"kind": "pairwise", "items": 4}])
    sheet = tmp_path / "sheet.csv"
    assert main(["label", "export", str(run), str(sheet), "--campaign", str(campaign)]) == 0
    rows = read_csv(sheet)
    assert len(rows) == 4
    write_csv(sheet, [{**r, "worker": "w3", "label": "B"} for r in rows])
    assert main(["label", "import", str(run), str(sheet), "--campaign", str(campaign)]) == 0
    assert "stored 4 labels" in capsys.readouterr().out
    assert main(["label", "import", str(run), str(tmp_path / "missing.csv")]) == 2
