"""Where a run's model engines execute: in this process (default) or on a Ray cluster."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

LOCAL_ENGINES = ("local/", "gguf/", "vllm/")
"""Model specs whose engines run in-process, and so can be spread over a cluster by default."""


class ExecutorConfig(BaseModel):
    """The ``executor:`` section of a run config.

    Attributes:
        kind: "local" (engines in this process) or "ray" (engines in Ray actors).
        address: The Ray cluster: "auto" (the one this machine belongs to), "HOST:PORT",
            "ray://HOST:10001" (Ray Client), or "local"/None (start a one-machine cluster
            on 127.0.0.1 for the run).
        replicas: Engine replicas (actors) per model.
        num_cpus: CPUs Ray reserves for each replica.
        num_gpus: GPUs Ray reserves for each replica (vLLM's ``tensor_parallel_size``
            inside a replica should match).
        concurrency: Requests in flight per replica.
        models: Spec prefixes sent to the cluster (default: local engines; API models
            always stay on the driver).
        max_restarts: Replacements of dead replicas per model before the run fails.
        start_timeout_s: Seconds to wait for a model's first replica (loading included).

    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["local", "ray"] = "local"
    address: str | None = None
    replicas: int = Field(1, ge=1, le=1024)
    num_cpus: float = Field(1.0, ge=0)
    num_gpus: float = Field(0.0, ge=0)
    concurrency: int = Field(1, ge=1, le=1024)
    models: tuple[str, ...] = LOCAL_ENGINES
    max_restarts: int = Field(8, ge=0)
    start_timeout_s: float = Field(600.0, gt=0)

    def runs_on_cluster(self, spec: str) -> bool:
        """Whether a model's engine goes to Ray actors."""
        return self.kind == "ray" and spec.startswith(self.models)
