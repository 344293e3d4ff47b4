"""A generator whose engine replicas are Ray actors.

``executor: {kind: ray, ...}`` (or ``evalkit run --ray ADDRESS``) turns each local engine
model of a run (llama.cpp, vLLM) into a pool of actors, each building the model's own
generator once and answering requests, ``concurrency`` at a time. The driver keeps the
cache, the records and the costs, so results stream into the run folder as they complete,
and the pool has the same identity (cache key) as the engine it spreads: a run is the same
with and without Ray. An actor that dies (its node lost, the process killed) has its
requests sent again to a replacement; a request finishes once, so nothing is recorded
twice.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from evalkit.distributed.config import ExecutorConfig
from evalkit.errors import ConfigError, GenerationError, MissingDependencyError
from evalkit.generators.base import Capabilities, Completion, CompletionRequest, Generator

LOG = logging.getLogger("evalkit.distributed")


def import_ray() -> Any:
    """Import Ray or say how to install it."""
    try:
        return importlib.import_module("ray")
    except ImportError as exc:
        raise MissingDependencyError("ray", "ray", "The Ray executor") from exc


def connect(ray: Any, address: str | None) -> bool:
    """Join (or start) the cluster unless this process already has; True when started here."""
    if ray.is_initialized():
        return False
    options = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address in (None, "local"):
        ray.init(_node_ip_address="127.0.0.1", **options)
    else:
        ray.init(address=address, **options)
    return True


class EngineReplica:
    """The body of one actor: a model's generator, built once in the actor's process."""

    def __init__(self, spec: str, options: Mapping[str, Any]) -> None:
        from evalkit.generators.registry import create_generator

        self.generator = create_generator(spec, dict(options))

    def describe(self) -> dict[str, Any]:
        """Identity and capabilities, which the driver's pool takes over."""
        return {"identity": self.generator.identity(), "capabilities": asdict(self.generator.capabilities)}

    async def complete(self, request_json: str) -> dict[str, Any]:
        """One completion as JSON; a failure comes back as data so the driver can re-raise it."""
        try:
            completion = await self.generator.complete(CompletionRequest.model_validate_json(request_json))
        except GenerationError as exc:
            return {"error": str(exc), "retryable": exc.retryable, "status": exc.status}
        return {"completion": completion.model_dump_json()}


class RayPoolGenerator(Generator):
    """Spreads one model's requests over ``replicas`` Ray actors, replacing any that die.

    Attributes:
        executor: The executor settings.
        restarts: Replicas replaced so far.

    """

    def __init__(self, spec: str, options: Mapping[str, Any], executor: ExecutorConfig) -> None:
        super().__init__(spec, max_concurrency=executor.replicas * executor.concurrency)
        self.executor = executor
        self.restarts = 0
        self._ray = import_ray()
        self._started_cluster = connect(self._ray, executor.address)
        self._options = dict(options)
        self._actor_class = self._ray.remote(EngineReplica).options(
            num_cpus=executor.num_cpus, num_gpus=executor.num_gpus, max_concurrency=executor.concurrency
        )
        self.replicas: list[Any] = [self._start() for _ in range(executor.replicas)]
        info = self._describe()
        self._identity: dict[str, Any] = info["identity"]
        self.capabilities = Capabilities(**info["capabilities"])  # the engine's own declaration
        self._slots: asyncio.Queue[int] | None = None

    def _describe(self) -> dict[str, Any]:
        try:
            found: dict[str, Any] = self._ray.get(
                self.replicas[0].describe.remote(), timeout=self.executor.start_timeout_s
            )
        except self._ray.exceptions.GetTimeoutError as exc:
            raise ConfigError(
                f"model {self.spec!r}: no Ray replica started within {self.executor.start_timeout_s:g}s; "
                f"the cluster may lack the resources for {self.executor.replicas} replica(s) of "
                f"num_cpus {self.executor.num_cpus:g} and num_gpus {self.executor.num_gpus:g} "
                "(see `ray status`); lower them in executor, or add nodes"
            ) from exc
        return found

    def _start(self) -> Any:
        return self._actor_class.remote(self.spec, self._options)

    def identity(self) -> dict[str, Any]:
        """The engine's own identity, so cache keys match a run without Ray."""
        return self._identity

    def _slot_queue(self) -> asyncio.Queue[int]:
        if self._slots is None:
            self._slots = asyncio.Queue()
            for _ in range(self.executor.concurrency):
                for index in range(len(self.replicas)):
                    self._slots.put_nowait(index)
        return self._slots

    async def complete(self, request: CompletionRequest) -> Completion:
        """Send a request to a free replica; if the replica dies, to its replacement."""
        payload = request.model_dump_json()
        slots = self._slot_queue()
        while True:
            index = await slots.get()
            actor = self.replicas[index]
            try:
                reply = await actor.complete.remote(payload)
            except self._ray.exceptions.RayActorError:
                self._replace(index, actor)
                continue  # re-queued: the same request goes to the next free replica
            finally:
                slots.put_nowait(index)
            if "error" in reply:
                raise GenerationError(reply["error"], retryable=reply["retryable"], status=reply["status"])
            return Completion.model_validate_json(reply["completion"])

    def _replace(self, index: int, dead: Any) -> None:
        if self.replicas[index] is not dead:
            return  # another request already replaced it
        if self.restarts >= self.executor.max_restarts:
            raise ConfigError(
                f"model {self.spec!r}: {self.restarts} Ray replicas died; check the cluster's logs "
                "(`ray logs`), or raise executor.max_restarts"
            )
        self.restarts += 1
        LOG.warning("%s: replica %d died; starting a replacement", self.spec, index)
        self.replicas[index] = self._start()

    async def aclose(self) -> None:
        """Stop the replicas (and the cluster, if this run started it)."""
        for actor in self.replicas:
            self._ray.kill(actor)
        self.replicas = []
        if self._started_cluster:
            self._ray.shutdown()
            self._started_cluster = False
