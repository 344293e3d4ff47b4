"""Pieces of the batch path on their own: ledger, options, the batches command, store idempotence."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.batch.caller import BatchSettings
from evalkit.batch.ledger import BatchEntry, Ledger
from evalkit.batch.store import RequestRow, RequestStore
from evalkit.cli import main
from evalkit.distributed.config import ExecutorConfig
from evalkit.errors import ConfigError
from evalkit.runner.backends import Backends


def _entry(name: str) -> BatchEntry:
    return BatchEntry(name, "openai/gpt-4o-mini", "openai", "tag", 3, 100, 0.01, 1.0)


def test_the_ledger_drops_an_event_a_kill_cut_short(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    ledger.intent(_entry("a.jsonl"))
    ledger.record({"event": "submitted", "file": "a.jsonl", "batch_id": "batch_1"})
    with ledger.path.open("a") as handle:
        handle.write('{"event": "collected", "file": "a.js')  # torn: never happened
    again = Ledger(tmp_path)
    entry = again.entries["a.jsonl"]
    assert (entry.batch_id, entry.collected, entry.open) == ("batch_1", False, True)
    assert ledger.path.read_text().endswith("}\n")


def test_collecting_the_same_results_twice_counts_a_failure_once(tmp_path: Path) -> None:
    store = RequestStore(tmp_path / "r.sqlite")
    store.mark_pending(["k1", "k2"], "f1")
    for _ in range(2):
        store.record_results("f1", [("k1", True, "line"), ("k2", False, "HTTP 500: boom")])
    assert store.get("k1") == RequestRow("f1", "done", 0, "line")
    failed = store.get("k2")
    assert failed is not None and (failed.state, failed.attempts) == ("failed", 1)
    store.mark_pending(["k2"], "f2")
    assert store.get("k2") == RequestRow("f2", "pending", 1, "")


def test_bad_batch_options_name_the_model() -> None:
    with pytest.raises(ConfigError, match=r"openai/x.*batch_fallback"):
        BatchSettings.from_options("openai/x", {"batch_fallback": "later"}, False)
    with pytest.raises(ConfigError, match="not a number"):
        BatchSettings.from_options("openai/x", {"batch_retries": "many"}, False)


def test_batch_on_a_model_without_a_batch_api_is_a_config_error(tmp_path: Path) -> None:
    backends = Backends(None, batch_dir=tmp_path / "batches")
    with pytest.raises(ConfigError, match=r"fake/echo.*no batch API"):
        backends.caller("fake/echo", {"batch": True})
    assert (
        type(Backends(None, batch_dir=tmp_path, run_batch=True).caller("fake/echo")).__name__
        == "CachedCaller"
    )


def test_the_batches_command_says_when_a_run_has_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["batches", str(tmp_path)]) == 2
    assert "no batches" in capsys.readouterr().err


def test_only_the_configured_models_go_to_the_cluster() -> None:
    executor = ExecutorConfig(kind="ray")
    assert executor.runs_on_cluster("local/gemma-3-270m") and executor.runs_on_cluster("vllm/m")
    assert not executor.runs_on_cluster("openai/gpt-4o")
    assert not ExecutorConfig().runs_on_cluster("local/gemma-3-270m")
