"""Nothing lost or duplicated: atomic items, read-only readers, one writer, whole reports; honest answers."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import evalkit
from evalkit.cache import CachedCaller, ResponseCache
from evalkit.cli import main
from evalkit.errors import ConfigError
from evalkit.generators.base import CompletionRequest
from evalkit.generators.registry import create_generator
from evalkit.records import Grade, Message
from evalkit.runner.rundir import RunDir
from tests.api_helpers import LoopbackServer, Reply, ScriptedHandler, openai_chat_body
from tests.pipeline_helpers import write_prompt_set, write_run_config

N = 6
PER_TURN = {"judge": "multi-turn-grade", "model": "fake/script", "options": {"responses": ["pass"]}}


def _config(tmp_path: Path, **fields: Any) -> Path:
    write_prompt_set(tmp_path, N, multi_turn_every=2)
    return write_run_config(tmp_path, **fields)


def test_an_item_with_only_some_of_its_per_turn_grades_is_redone(tmp_path: Path) -> None:
    run = evalkit.run(_config(tmp_path, judges=[PER_TURN]), progress=False, report=False)
    path = run.path / "grades.jsonl"
    grades = [Grade.model_validate_json(line) for line in path.read_text().splitlines()]
    per_item: dict[Any, int] = {}
    for grade in grades:
        per_item[grade.item_key] = per_item.get(grade.item_key, 0) + 1
    dialogue = next(key for key, n in per_item.items() if n == 2)
    # As after a kill between the two turns' records: turn 2 of that dialogue is missing.
    kept = [g for g in grades if not (g.item_key == dialogue and g.turn == 1)]
    path.write_text("".join(g.model_dump_json() + "\n" for g in kept))
    again = evalkit.run(_config(tmp_path, judges=[PER_TURN]), progress=False, report=False)
    assert len(again.records.grades) == len(grades)
    grade_stage = again.meta.executions[-1].stages[-1]
    assert (grade_stage.new, grade_stage.resumed) == (1, len(per_item) - 1)


def test_records_of_one_item_are_written_in_one_write(tmp_path: Path, monkeypatch: Any) -> None:
    writes: list[int] = []
    real_write = os.write

    def counting_write(fd: int, data: Any) -> int:
        writes.append(len(data))
        return real_write(fd, data)

    store = RunDir(tmp_path / "run").store("grades")
    grades = [
        Grade(prompt_id="p", system="s", scale="x", source="llm:j", label="pass", turn=t) for t in range(3)
    ]
    monkeypatch.setattr(os, "write", counting_write)
    store.append(grades)
    monkeypatch.undo()
    assert len(store.load()) == 3
    assert len(writes) <= 1  # buffered: one system call for the whole item (or none seen at all)


def test_readers_never_modify_a_file_being_written(tmp_path: Path) -> None:
    run = evalkit.run(_config(tmp_path), progress=False, report=False)
    path = run.path / "responses.jsonl"
    with path.open("a") as handle:
        handle.write('{"prompt_id": "p999", "system": "ec')  # a writer's line, not yet terminated
    before = path.read_bytes()
    reloaded = evalkit.load_run(run.path)
    assert len(reloaded.records.responses) == 2 * N
    assert main(["report", str(run.path)]) == 0
    assert main(["run", str(_config(tmp_path)), "--dry-run"]) == 0
    assert path.read_bytes() == before


def test_a_second_run_on_the_same_folder_stops_with_a_clear_message(tmp_path: Path) -> None:
    config = _config(tmp_path)
    evalkit.run(config, progress=False, report=False)
    run_dir = RunDir(tmp_path / "reports" / "fake-run")
    with run_dir.lock(), pytest.raises(ConfigError, match="in use by another evalkit run"):
        evalkit.run(config, progress=False, report=False)
    assert evalkit.run(config, progress=False, report=False).status == "complete"  # released


def test_a_report_is_replaced_whole_or_not_at_all(tmp_path: Path, monkeypatch: Any) -> None:
    run = evalkit.run(_config(tmp_path), progress=False)
    report = run.path / "report.html"
    before = report.read_bytes()

    def killed(*args: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        run.report()
    assert report.read_bytes() == before
    assert [p.name for p in run.path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_limit_after_a_full_run_works_and_keeps_the_rest(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert main(["run", str(config), "--quiet"]) == 0
    assert main(["run", str(config), "--quiet", "--limit", "2"]) == 0
    limited = evalkit.load_run(tmp_path / "reports" / "fake-run")
    assert {r.prompt_id for r in limited.records.responses} == {"p000", "p001"}
    assert main(["report", str(limited.path)]) == 0
    assert main(["run", str(config), "--quiet"]) == 0
    full = evalkit.load_run(limited.path)
    assert len(full.records.responses) == 2 * N
    assert full.meta.executions[-1].stages[0].new == 0  # the other prompts' answers were kept


async def test_the_cache_keeps_servers_apart(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache.sqlite")
    request = CompletionRequest(messages=(Message(role="user", content="Hi"),))
    answers = []
    for text in ("from server one", "from server two"):
        with LoopbackServer(ScriptedHandler([], Reply(body=openai_chat_body(text)))) as server:
            generator = create_generator("openai-compatible/generic/m", {"base_url": f"{server.url}/v1"})
            answers.append((await CachedCaller(generator, cache)(request)).text)
            await generator.aclose()
    cache.close()
    assert answers == ["from server one", "from server two"]


async def test_null_content_is_a_failure_not_an_empty_answer(tmp_path: Path) -> None:
    body = openai_chat_body("x")
    body["choices"][0]["message"]["content"] = None
    with LoopbackServer(ScriptedHandler([], Reply(body=body))) as server:
        generator = create_generator(
            "openai-compatible/generic/m",
            {"base_url": f"{server.url}/v1", "max_attempts": 1},
        )
        with pytest.raises(evalkit.GenerationError, match="content: null"):
            await generator.complete(CompletionRequest(messages=(Message(role="user", content="Hi"),)))
        await generator.aclose()


def test_empty_answers_are_counted_and_flagged(tmp_path: Path) -> None:
    systems = [
        {"name": "short", "model": "fake/constant", "options": {"text": ""}},
        {"name": "echo", "model": "fake/echo"},
    ]
    run = evalkit.run(_config(tmp_path, systems=systems), progress=False)
    empty = [r for r in run.records.responses if r.empty]
    assert len(empty) == N
    html = (run.path / "report.html").read_text()
    assert f"{N} empty answers" in html


def test_run_json_is_the_typed_record(tmp_path: Path) -> None:
    run = evalkit.run(_config(tmp_path, n_boot=200, confidence=0.8), progress=False)
    stored = json.loads((run.path / "run.json").read_text())
    assert stored["format_version"] == 2
    assert evalkit.RunMeta.model_validate(stored) == run.meta
    html = (run.path / "report.html").read_text()
    assert "80% CI" in html and "200-replicate" in html


def test_probability_reconciliation_is_chosen_in_the_config() -> None:
    from evalkit.records import Judgment
    from evalkit.report.context import verdicts_of
    from evalkit.runner.meta import ResolvedJudge, RunMeta, RunRecords

    source = "llm:lima-pairwise@openai/gpt-4o"
    orders = [
        Judgment(prompt_id="p", model_a="x", model_b="y", order="ab", source=source, outcome="a",
                 probabilities={"a": 0.9, "b": 0.05, "tie": 0.05}),
        Judgment(prompt_id="p", model_a="x", model_b="y", order="ba", source=source, outcome="b",
                 probabilities={"a": 0.4, "b": 0.5, "tie": 0.1}),
    ]  # fmt: skip
    judge = ResolvedJudge(source=source, judge="lima-pairwise", kind="pairwise")
    by_rule = RunRecords(judgments=tuple(orders), meta=RunMeta(judges=(judge,)))
    [verdict] = verdicts_of(by_rule)
    assert verdict.outcome == "tie"  # the documented rule: orders that disagree are a tie
    chosen = judge.model_copy(update={"reconcile": "probability"})
    [verdict] = verdicts_of(by_rule.model_copy(update={"meta": RunMeta(judges=(chosen,))}))
    assert verdict.outcome == "a"


def test_n_boot_and_confidence_from_the_config_set_the_intervals(tmp_path: Path) -> None:
    from evalkit import stats

    grader = {
        "judge": "lima-grade",
        "model": "fake/script",
        "options": {"responses": ["pass", "fail", "excellent"]},
    }
    run = evalkit.run(
        _config(tmp_path, judges=[grader], n_boot=300, confidence=0.6), progress=False, report=False
    )
    prompts = {p.id: p for p in run.records.prompts}
    ours = run.grades()
    narrow = stats.grade_distributions(run.records.grades, prompts, n_boot=300, confidence=0.6, seed=run.seed)
    wide = stats.grade_distributions(run.records.grades, prompts, n_boot=300, confidence=0.95, seed=run.seed)
    assert [d.share_ci for d in ours] == [d.share_ci for d in narrow]
    assert [d.share_ci for d in ours] != [d.share_ci for d in wide]
