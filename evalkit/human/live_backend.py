"""Replies for live dialogues, from the run's own systems (model, template and parameters).

The systems are read from the run's run.json, so a live reply is produced exactly as the
run produced its responses, through the same backends (the embedded model works offline).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import ConfigError
from evalkit.records import Prompt
from evalkit.runner.backends import Backends
from evalkit.runner.config import SystemConfig
from evalkit.runner.meta import RunMeta
from evalkit.runner.work import sample_params
from evalkit.system_templates import SystemTemplate, load_template


@dataclass(frozen=True)
class Reply:
    """One generated reply, or the error that prevented it."""

    text: str
    model_id: str = ""
    latency_s: float = 0.0
    error: str | None = None


class LiveBackends:
    """Generates one turn at a time for the systems a run defines."""

    def __init__(self, meta: RunMeta) -> None:
        config = meta.config
        if config is None:
            raise ConfigError("run.json: no field 'config'; live dialogues need a run made by `evalkit run`")
        self.seed = meta.seed
        self.base_dir = Path(config.base_dir)
        self.systems: dict[str, SystemConfig] = {s.name: s for s in config.systems}
        self._backends = Backends(cache=None)
        self._templates: dict[str, SystemTemplate] = {}

    def template(self, system: SystemConfig) -> SystemTemplate:
        """The system's template, loaded once."""
        if system.name not in self._templates:
            name = system.template
            path = self.base_dir / name if name.endswith((".yaml", ".yml")) else None
            self._templates[system.name] = load_template(path or name)
        return self._templates[system.name]

    async def reply(self, system_name: str, turns: Sequence[str], outputs: Sequence[str]) -> Reply:
        """The system's answer to the last user turn, given its earlier answers."""
        system = self.systems[system_name]
        prompt = Prompt(id="live", turns=tuple(turns))
        params = sample_params(system.params, self.seed, 0)
        try:
            request = self.template(system).render(prompt, len(turns) - 1, list(outputs), params)
            completion = await self._backends.caller(system.model, system.options)(request)
        except Exception as exc:  # a failed reply is shown and stored as the response's error
            return Reply("", error=f"{type(exc).__name__}: {exc}")
        return Reply(completion.text.strip(), completion.model_id, completion.latency_s)

    async def aclose(self) -> None:
        """Release the backends (engines, connections)."""
        await self._backends.aclose()
