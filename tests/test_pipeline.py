"""End-to-end runs on the fake backends: stages, caching, failures, the notebook API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import evalkit
from evalkit.runner.config import load_config
from evalkit.runner.pipeline import Pipeline
from tests.pipeline_helpers import write_prompt_set, write_run_config

N = 12


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    write_prompt_set(tmp_path, N, multi_turn_every=4)
    return write_run_config(tmp_path)


def test_full_run_writes_every_record_and_the_report(config_path: Path) -> None:
    run = evalkit.run(config_path, progress=False)
    assert run.status == "complete"
    assert len(run.records.prompts) == N
    assert len(run.records.responses) == 2 * N
    assert {len(r.outputs) for r in run.records.responses} == {1, 2}  # multi-turn answered turn by turn
    assert len(run.records.judgments) == 2 * N  # one comparison, both orders
    assert {j.model_a for j in run.records.judgments} == {"echo"}  # candidate vs baseline
    assert (run.path / "report.html").stat().st_size > 10_000
    meta = json.loads((run.path / "run.json").read_text())
    assert meta["judges"][0]["source"] == "llm:lima-pairwise@fake/script"
    assert meta["versions"]["python"]
    # The prompt set's version as loaded (here the file's content hash) is kept and shown on hover.
    expected = evalkit.load_prompt_set(config_path.parent / "set.jsonl").version
    assert meta["prompt_set_version"] == expected
    assert f"(version {expected})" in (run.path / "report.html").read_text()


def test_a_judge_that_always_picks_the_first_shown_gives_only_ties(config_path: Path) -> None:
    """The fake judge answers "A" in both orders: every pair is a position flip, reconciled to a tie."""
    run = evalkit.run(config_path, progress=False, report=False)
    [overall] = [w for w in run.win_rates() if w.source.startswith("llm:lima-pairwise")]
    assert (overall.wins, overall.ties, overall.losses, overall.n) == (0, N, 0, N)
    assert overall.win_rate == pytest.approx(0.5)
    [diagnostics] = run.diagnostics()
    assert diagnostics.position_flip_rate == pytest.approx(1.0)
    assert diagnostics.first_position_preference == pytest.approx(1.0)
    by_split = {w.group for w in run.win_rates(by="split")}
    assert by_split == {"in_distribution", "out_of_distribution"}


async def test_rerun_makes_zero_model_calls(config_path: Path) -> None:
    first = Pipeline(load_config(config_path), show_progress=False)
    await first.execute()
    assert first.backends.calls > 0
    again = Pipeline(load_config(config_path), show_progress=False)
    await again.execute()
    assert again.backends.calls == 0
    assert all(r.resumed == r.total for r in again.results)


async def test_rerun_in_a_new_folder_is_served_by_the_cache(config_path: Path) -> None:
    await Pipeline(load_config(config_path), show_progress=False).execute()
    renamed = Pipeline(load_config(config_path, {"name": "copy"}), show_progress=False)
    await renamed.execute()
    assert renamed.backends.calls == 0
    assert renamed.backends.hits > 0


async def test_adding_a_system_pays_only_for_what_is_new(tmp_path: Path) -> None:
    write_prompt_set(tmp_path, N)
    path = write_run_config(tmp_path)
    await Pipeline(load_config(path), show_progress=False).execute()
    config = load_config(path)
    bigger = config.model_copy(
        update={"systems": (*config.systems, config.systems[0].model_copy(update={"name": "third"}))}
    )
    pipeline = Pipeline(bigger, show_progress=False)
    await pipeline.execute()
    generate, pairwise, grade = pipeline.results
    assert (generate.resumed, generate.new) == (2 * N, N)
    assert pairwise.new == 2 * N  # third vs baseline, both orders
    assert grade.new == N


def test_failed_generations_are_recorded_counted_and_not_judged(tmp_path: Path) -> None:
    write_prompt_set(tmp_path, 4)
    path = write_run_config(
        tmp_path,
        systems=[
            {"name": "short", "model": "fake/constant", "options": {"text": "Yes."}},
            {"name": "broken", "model": "fake/fail", "options": {"message": "HTTP 500 after 5 attempts"}},
        ],
    )
    run = evalkit.run(path, progress=False)
    broken = [r for r in run.records.responses if r.system == "broken"]
    assert len(broken) == 4 and all(r.error and "HTTP 500" in r.error for r in broken)
    assert all(j.outcome is None and j.error for j in run.records.judgments)
    [overall] = run.win_rates()
    assert (overall.n, overall.unresolved) == (0, 4)
    assert "HTTP 500 after 5 attempts" in (run.path / "report.html").read_text()


def test_sync_run_works_inside_a_running_event_loop(config_path: Path) -> None:
    async def notebook_cell() -> evalkit.Run:
        return evalkit.run(config_path, progress=False, report=False, limit=3)

    run = asyncio.run(notebook_cell())
    assert len(run.records.prompts) == 3


def test_loaded_run_gives_tables_and_an_escaped_html_repr(config_path: Path) -> None:
    evalkit.run(config_path, progress=False, report=False)
    run = evalkit.load_run(config_path.parent / "reports" / "fake-run")
    frame = run.to_pandas("win_rates", by="category")
    assert set(frame["group"]) == {"advice", "writing", "coding"}
    assert len(run.to_pandas("responses")) == 2 * N
    assert "<table" in run._repr_html_()
    with pytest.raises(evalkit.ConfigError, match="unknown table"):
        run.to_pandas("nope")


def test_judge_failures_of_any_kind_are_recorded_not_scored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalkit.generators import fake

    original = fake.FakeGenerator.complete

    async def flaky(self: fake.FakeGenerator, request: evalkit.CompletionRequest) -> evalkit.Completion:
        if self.mode == "script":
            raise RuntimeError("connection reset by peer")
        return await original(self, request)

    monkeypatch.setattr(fake.FakeGenerator, "complete", flaky)
    write_prompt_set(tmp_path, 3)
    run = evalkit.run(write_run_config(tmp_path), progress=False, report=False)
    assert run.status == "complete"
    assert len(run.records.judgments) == 6 and len(run.records.grades) == 6
    for record in (*run.records.judgments, *run.records.grades):
        assert record.error == "RuntimeError: connection reset by peer"
    [overall] = run.win_rates()
    assert (overall.n, overall.unresolved) == (0, 3)


def test_a_local_server_that_is_not_running_fails_fast_with_one_message(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    write_prompt_set(tmp_path, 3)
    server = {"base_url": f"http://127.0.0.1:{port}/v1", "model": "m", "max_attempts": 5}
    path = write_run_config(
        tmp_path,
        systems=[{"name": "served", "model": "openai-compatible/llamacpp", "options": server}],
        judges=[],
        baseline=None,
    )
    with pytest.raises(evalkit.ConfigError, match=rf"no server answers at http://127.0.0.1:{port}/v1"):
        evalkit.run(path, progress=False, report=False)


def test_credentials_in_urls_never_reach_the_run_folder(tmp_path: Path) -> None:
    write_prompt_set(tmp_path, 2)
    secret_url = "http://user:hunter2@127.0.0.1:9/v1"
    path = write_run_config(
        tmp_path,
        systems=[
            {"name": "short", "model": "fake/constant", "options": {"text": "Yes.", "base_url": secret_url}},
            {"name": "echo", "model": "fake/echo"},
        ],
    )
    run = evalkit.run(path, progress=False)
    for file in run.path.iterdir():
        assert "hunter2" not in file.read_text(), file.name
    assert run.meta.config is not None
    assert run.meta.config.systems[0].options["base_url"] == "http://127.0.0.1:9/v1"
