"""Generation and judging on a Ray cluster started by the test on 127.0.0.1.

Skipped where Ray is not installed (``pip install 'evalkit[ray]'``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evalkit.runner.config import load_config
from evalkit.runner.pipeline import Pipeline
from tests.pipeline_helpers import write_prompt_set, write_run_config

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'evalkit[ray]'")

N = 12
RAY = {"kind": "ray", "replicas": 2, "concurrency": 2, "num_cpus": 0.1, "models": ["fake/"]}


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    yield
    ray.shutdown()


def _config(folder: Path, name: str, executor: dict[str, Any] | None, delay: float = 0.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_prompt_set(folder, N, multi_turn_every=4)
    fields: dict[str, Any] = {"name": name}
    if executor:
        fields["executor"] = executor
    if delay:
        fields["systems"] = [
            {"name": "short", "model": "fake/constant", "options": {"text": "Yes."}},
            {"name": "echo", "model": "fake/echo", "options": {"delay": delay}},
        ]
    return write_run_config(folder, **fields)


def _records(run_dir: Path, kind: str) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (run_dir / f"{kind}.jsonl").read_text().splitlines()]
    for row in rows:
        row.pop("latency_s", None)  # wall time differs between any two runs
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))


async def test_a_run_on_two_replicas_gives_the_same_records_as_without_ray(
    tmp_path: Path, cluster: None
) -> None:
    local = await Pipeline(
        load_config(_config(tmp_path / "local", "local", None)), show_progress=False
    ).execute()
    pipeline = Pipeline(load_config(_config(tmp_path / "ray", "ray", RAY)), show_progress=False)
    pool = pipeline.backends.generator("fake/echo")
    assert type(pool).__name__ == "RayPoolGenerator" and len(pool.replicas) == 2  # type: ignore[attr-defined]
    on_ray = await pipeline.execute()
    for kind in ("responses", "judgments", "grades"):
        assert _records(on_ray.path, kind) == _records(local.path, kind)


async def test_killing_a_replica_mid_run_loses_and_duplicates_nothing(tmp_path: Path, cluster: None) -> None:
    config = load_config(_config(tmp_path, "killed", RAY, delay=0.3))
    pipeline = Pipeline(config, show_progress=False)
    pool: Any = pipeline.backends.generator("fake/echo", {"delay": 0.3})
    run = asyncio.create_task(pipeline.execute())
    responses = tmp_path / "reports" / "killed" / "responses.jsonl"
    while not responses.exists() or len(responses.read_text().splitlines()) < N + 2:
        await asyncio.sleep(0.05)  # the constant system answers at once; wait for some echoes
    ray.kill(pool.replicas[0], no_restart=True)
    run_dir = await run
    assert pool.restarts == 1
    rows = _records(run_dir.path, "responses")
    keys = [(r["prompt_id"], r["system"], r["sample"]) for r in rows]
    assert len(keys) == len(set(keys)) == 2 * N
    assert all(r["error"] is None for r in rows)
    assert len(_records(run_dir.path, "judgments")) == 2 * N


@pytest.mark.slow
async def test_the_example_config_on_two_embedded_model_replicas_matches_a_run_without_ray(
    tmp_path: Path, cluster: None
) -> None:
    pytest.importorskip("llama_cpp", reason="the embedded model needs llama-cpp-python (extra local)")
    example = Path(__file__).resolve().parents[1] / "examples" / "ray-cluster.yaml"
    overrides = {"limit": 2, "output_dir": str(tmp_path)}
    on_ray = load_config(example, {**overrides, "name": "on-ray"})
    assert on_ray.executor.kind == "ray" and on_ray.executor.replicas == 2
    pipeline = Pipeline(on_ray, show_progress=False)
    pool: Any = pipeline.backends.generator("local/gemma-3-270m", {"n_threads": 1})
    assert len(pool.replicas) == 2
    ray_dir = await pipeline.execute()
    local = load_config(example, {**overrides, "name": "local", "executor": {"kind": "local"}})
    local_dir = await Pipeline(local, show_progress=False).execute()
    for kind in ("responses", "judgments"):
        assert _records(ray_dir.path, kind) == _records(local_dir.path, kind)
    assert len(_records(ray_dir.path, "responses")) == 4


def test_the_ray_flag_sends_a_plain_config_to_the_cluster(tmp_path: Path, cluster: None) -> None:
    from evalkit.cli import main

    config = _config(tmp_path, "flagged", {"models": ["fake/"], "num_cpus": 0.1})
    assert main(["run", str(config), "--ray", "local", "-q", "--no-report"]) == 0
    meta = json.loads((tmp_path / "reports" / "flagged" / "run.json").read_text())
    assert meta["status"] == "complete"
    assert meta["config"]["executor"]["kind"] == "ray" and meta["config"]["executor"]["address"] == "local"
    assert len(_records(tmp_path / "reports" / "flagged", "responses")) == 2 * N


async def test_a_replica_failure_comes_back_as_the_engine_error(cluster: None) -> None:
    from evalkit.distributed.config import ExecutorConfig
    from evalkit.distributed.ray_pool import RayPoolGenerator
    from evalkit.errors import GenerationError
    from evalkit.generators.base import CompletionRequest

    executor = ExecutorConfig(kind="ray", models=("fake/",), num_cpus=0.1)
    pool = RayPoolGenerator("fake/fail", {"message": "engine exploded"}, executor)
    assert pool.identity() == {"spec": "fake/fail", "options": {"message": "engine exploded"}}
    with pytest.raises(GenerationError, match="engine exploded"):
        await pool.complete(CompletionRequest(prompt="hi"))
    assert pool.restarts == 0
    await pool.aclose()
    assert pool.replicas == []
