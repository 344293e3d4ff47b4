"""Results follow the config: records made under an older config are redone and never counted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

import evalkit
from evalkit.cli import main
from evalkit.records import Response
from evalkit.runner.rundir import RunDir
from tests.pipeline_helpers import write_prompt_set, write_run_config

N = 4


def _config(tmp_path: Path, **fields: Any) -> Path:
    if not (tmp_path / "set.jsonl").exists():
        write_prompt_set(tmp_path, N)
    return write_run_config(tmp_path, **fields)


def _texts(run: evalkit.Run, system: str) -> set[str]:
    return {r.text for r in run.records.responses if r.system == system}


def _systems(short: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [
        {"name": "short", "model": "fake/constant", "options": {"text": "Yes."}, **(short or {})},
        {"name": "echo", "model": "fake/echo"},
    ]


def test_a_changed_system_is_regenerated_and_rejudged(tmp_path: Path) -> None:
    first = evalkit.run(_config(tmp_path), progress=False, report=False)
    assert _texts(first, "short") == {"Yes."}
    again = evalkit.run(
        _config(tmp_path, systems=_systems({"options": {"text": "No."}})), progress=False, report=False
    )
    assert _texts(again, "short") == {"No."}
    assert len(again.records.responses) == 2 * N  # the old answers are not counted beside the new
    stages = {s.name: s for s in again.meta.executions[-1].stages}
    assert (stages["generate"].new, stages["generate"].resumed) == (N, N)
    assert stages["pairwise"].superseded == 2 * N  # verdicts on the old answers were redone too
    assert stages["grade"].new == N
    assert any("short" in line for line in again.meta.executions[-1].changes)
    aside = RunDir(again.path).path / "superseded" / "responses.jsonl"
    assert {json.loads(line)["outputs"][0] for line in aside.read_text().splitlines()} == {"Yes."}


def test_template_and_parameter_changes_are_system_changes(tmp_path: Path) -> None:
    evalkit.run(_config(tmp_path), progress=False, report=False)
    templated = evalkit.run(
        _config(tmp_path, systems=_systems({"template": "chat-plain"})), progress=False, report=False
    )
    assert templated.meta.executions[-1].stages[0].new == N
    capped = evalkit.run(
        _config(tmp_path, systems=_systems({"template": "chat-plain", "params": {"max_tokens": 1}})),
        progress=False,
        report=False,
    )
    assert capped.meta.executions[-1].stages[0].new == N
    unchanged = evalkit.run(
        _config(tmp_path, systems=_systems({"template": "chat-plain", "params": {"max_tokens": 1}})),
        progress=False,
        report=False,
    )
    assert [s.new for s in unchanged.meta.executions[-1].stages] == [0, 0, 0]


def _own_judge(tmp_path: Path, instruction: str) -> Path:
    """A copy of the shipped LIMA pairwise judge whose template ends with ``instruction``."""
    judges = Path(__file__).resolve().parents[1] / "judges"
    spec = yaml.safe_load((judges / "lima-pairwise.yaml").read_text())
    spec["name"] = "my-pairwise"
    template = (judges / spec["template"]["file"]).read_text()
    (tmp_path / "my-pairwise.j2").write_text(f"{template}\n{instruction}\n")
    spec["template"]["file"] = "my-pairwise.j2"
    path = tmp_path / "my-pairwise.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_an_edited_judge_template_redoes_its_verdicts(tmp_path: Path) -> None:
    judge = {"judge": "my-pairwise.yaml", "model": "fake/script", "options": {"responses": ["A"]}}
    _own_judge(tmp_path, "Be strict.")
    first = evalkit.run(_config(tmp_path, judges=[judge]), progress=False, report=False)
    assert first.meta.executions[-1].stages[1].new == 2 * N
    _own_judge(tmp_path, "Be lenient.")
    again = evalkit.run(_config(tmp_path, judges=[judge]), progress=False, report=False)
    pairwise = again.meta.executions[-1].stages[1]
    assert (pairwise.new, pairwise.resumed, pairwise.superseded) == (2 * N, 0, 2 * N)
    assert again.meta.executions[-1].stages[0].new == 0  # answers were not touched


def test_a_prompt_edited_under_the_same_id_is_redone(tmp_path: Path) -> None:
    config = _config(tmp_path)
    evalkit.run(config, progress=False, report=False)
    rows = [json.loads(line) for line in (tmp_path / "set.jsonl").read_text().splitlines()]
    rows[1]["prompt"] = "An entirely different question?"
    (tmp_path / "set.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    again = evalkit.run(config, progress=False, report=False)
    generate = again.meta.executions[-1].stages[0]
    assert (generate.new, generate.resumed) == (2, 2 * N - 2)  # both systems, that prompt only
    echo = next(r for r in again.records.responses if r.system == "echo" and r.prompt_id == "p001")
    assert "entirely different" in echo.text
    assert any("1 prompt(s) changed" in line for line in again.meta.executions[-1].changes)


def test_a_judge_removed_from_the_panel_stops_voting(tmp_path: Path) -> None:
    says = [
        {"judge": "lima-pairwise", "model": "fake/script", "name": n, "options": {"responses": [r]}}
        for n, r in (("says-a", "A"), ("says-b", "B"), ("says-tie", "N"))
    ]
    config = _config(tmp_path, judges=says, panel={"method": "majority"})
    full = evalkit.run(config, progress=False, report=False)
    assert {v.source for v in full.verdicts} == {"llm:says-a", "llm:says-b", "llm:says-tie", "panel:panel"}
    trimmed = evalkit.run(
        _config(tmp_path, judges=says[:2], panel={"method": "majority"}), progress=False, report=False
    )
    assert {j.source for j in trimmed.records.judgments} == {"llm:says-a", "llm:says-b"}
    assert {v.source for v in trimmed.verdicts} == {"llm:says-a", "llm:says-b", "panel:panel"}


def test_removed_systems_and_comparisons_leave_the_report(tmp_path: Path) -> None:
    three = [*_systems(), {"name": "other", "model": "fake/constant", "options": {"text": "Maybe."}}]
    evalkit.run(_config(tmp_path, systems=three), progress=False, report=False)
    again = evalkit.run(_config(tmp_path), progress=False)
    assert {r.system for r in again.records.responses} == {"short", "echo"}
    assert {(j.model_a, j.model_b) for j in again.records.judgments} == {("echo", "short")}
    assert {g.system for g in again.records.grades} == {"short", "echo"}
    html = (again.path / "report.html").read_text()
    assert "Maybe." not in html and ">other<" not in html


def test_the_loader_ignores_verdicts_on_an_answer_that_was_redone(tmp_path: Path) -> None:
    """A run killed between regenerating an answer and rejudging it never shows the old verdict."""
    run = evalkit.run(_config(tmp_path), progress=False, report=False)
    path = run.path / "responses.jsonl"
    rows = [Response.model_validate_json(line) for line in path.read_text().splitlines()]
    redone = rows[0].model_copy(update={"fingerprint": "0" * 16, "outputs": ("new",)})
    path.write_text("".join(r.model_dump_json() + "\n" for r in [redone, *rows[1:]]))
    reloaded = evalkit.load_run(run.path)
    key = (rows[0].prompt_id, rows[0].system)
    assert all((r.prompt_id, r.system) != key for r in reloaded.records.responses)  # stale fingerprint
    assert all(j.prompt_id != key[0] for j in reloaded.records.judgments)
    assert reloaded.records.superseded["responses"] == 1


def test_the_cli_says_what_changed(tmp_path: Path, capsys: Any) -> None:
    assert main(["run", str(_config(tmp_path)), "--quiet", "--no-report"]) == 0
    capsys.readouterr()
    changed = _config(tmp_path, systems=_systems({"options": {"text": "No."}}))
    assert main(["run", str(changed), "--quiet", "--no-report"]) == 0
    out = capsys.readouterr().out
    assert "changed: systems changed" in out and "short" in out
    assert "stale records set aside and redone" in out


def test_an_old_run_folder_still_loads_and_reports(tmp_path: Path) -> None:
    legacy = Path(__file__).parent / "data" / "legacy_run_0_1"
    copy = tmp_path / "legacy"
    copy.mkdir()
    for file in legacy.iterdir():
        (copy / file.name).write_bytes(file.read_bytes())
    run = evalkit.load_run(copy)
    assert run.meta.format_version == 1 and run.name == "fake-run"
    assert run.meta.config is not None and [j.source for j in run.meta.judges] == [
        "llm:lima-pairwise@fake/script",
        "llm:lima-grade@fake/script",
    ]
    assert len(run.records.responses) == 8 and len(run.records.judgments) == 8
    assert run.meta.executions[0].calls["fake/script"].calls == 16
    assert "fake-run" in run.report().read_text()
    assert (copy / "run.json").read_bytes() == (legacy / "run.json").read_bytes()  # loading changes nothing


def test_human_labels_on_a_redone_answer_no_longer_count() -> None:
    from evalkit.fingerprint import HUMAN_JUDGE, response_fingerprint, verdict_fingerprint
    from evalkit.records import Judgment, Prompt
    from evalkit.runner.current import current_records
    from evalkit.runner.meta import RunMeta

    prompt = Prompt(id="p", turns=("Hi?",))

    def answers(systems: dict[str, str]) -> list[Response]:
        return [
            Response(
                prompt_id="p", system=s, outputs=("x",), fingerprint=response_fingerprint(fp, prompt, 0, 0)
            )
            for s, fp in systems.items()
        ]

    before = {"a": "sys-a-1", "b": "sys-b-1"}
    shown = answers(before)
    label = Judgment(
        prompt_id="p", model_a="a", model_b="b", order="ab", source="human:ann", outcome="a",
        fingerprint=verdict_fingerprint(HUMAN_JUDGE, prompt, [r.fingerprint for r in shown]),
    )  # fmt: skip
    stored = {"prompts": [prompt], "responses": shown, "judgments": [label]}
    assert len(current_records(RunMeta(system_fingerprints=before), stored).judgments) == 1
    after = {**before, "a": "sys-a-2"}  # system a changed and its answer was redone
    records = current_records(RunMeta(system_fingerprints=after), {**stored, "responses": answers(after)})
    assert records.judgments == () and records.superseded == {"judgments": 1}
