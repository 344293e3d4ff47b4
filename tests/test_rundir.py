from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.errors import ConfigError
from evalkit.records import Response
from evalkit.runner.meta import RunMeta
from evalkit.runner.rundir import Expectation, RecordStore, RunDir


def _resp(pid: str, error: str | None = None) -> Response:
    return Response(prompt_id=pid, system="s", outputs=() if error else ("ok",), error=error)


def test_torn_last_line_is_cut(tmp_path: Path) -> None:
    store = RecordStore(tmp_path / "r.jsonl", Response)
    store.append([_resp("1"), _resp("2")])
    with store.path.open("a") as handle:
        handle.write('{"prompt_id": "3", "sys')  # a kill mid-write
    assert [r.prompt_id for r in store.load()] == ["1", "2"]
    store.append([_resp("3")])
    assert [r.prompt_id for r in store.load()] == ["1", "2", "3"]


def test_bad_middle_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(_resp("1").model_dump_json() + "\n{not json}\n" + _resp("2").model_dump_json() + "\n")
    with pytest.raises(ConfigError, match=r"r\.jsonl:2"):
        RecordStore(path, Response).load()


def test_invalid_record_names_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"prompt_id": "1"}\n')
    with pytest.raises(ConfigError, match=r"r\.jsonl:1: not a valid Response"):
        RecordStore(path, Response).load()


def test_resume_drops_failed_items_and_keeps_good_ones(tmp_path: Path) -> None:
    store = RecordStore(tmp_path / "r.jsonl", Response)
    store.append([_resp("1"), _resp("2", error="timeout"), _resp("3")])
    wanted = {(i, "s", 0): Expectation("", 1) for i in "123"}
    kept, stale = store.resume(lambda r: r.key, lambda r: r.error is not None, wanted)
    assert [r.prompt_id for r in kept] == ["1", "3"]
    assert stale == 0
    assert [r.prompt_id for r in store.load()] == ["1", "3"]


def test_unwritable_run_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "reports"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(ConfigError, match="cannot write to the run folder"):
        RunDir(blocker / "run")


def test_meta_round_trip(tmp_path: Path) -> None:
    run_dir = RunDir(tmp_path / "run")
    run_dir.write_meta(RunMeta(status="running"))
    assert run_dir.update_meta(status="complete", seed=3) == RunMeta(status="complete", seed=3)
    assert run_dir.read_meta() == RunMeta(status="complete", seed=3)
    with pytest.raises(ConfigError, match="not an evalkit run folder"):
        RunDir(tmp_path / "elsewhere", create=False)
