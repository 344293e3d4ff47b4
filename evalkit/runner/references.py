"""Check what a run config refers to (providers and their options, templates, judges) when it loads.

Each error is raised again with the config file and the field in front, e.g.
``exp.yaml: systems[1].model: unknown model provider 'foo'; known providers: ...``, so a
user never has to guess which entry a message is about.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from evalkit.errors import ConfigError, UnknownSpecError
from evalkit.runner.config import RunConfig


def _at(source: str, field: str, check: Callable[[], Any]) -> None:
    try:
        check()
    except ConfigError as exc:
        kind = UnknownSpecError if isinstance(exc, UnknownSpecError) else ConfigError
        raise kind(f"{source}: {field}: {exc}") from exc


def named(config: RunConfig, value: str) -> str | Path:
    """A template or judge reference as the loaders take it: a path (from the config's folder) or a name."""
    return config.resolve(value) if value.endswith((".yaml", ".yml")) else value


def _check_provider(spec: str) -> None:
    from evalkit.generators.registry import load_factory, split_spec

    load_factory(split_spec(spec)[0])


def _check_options(spec: str, options: dict[str, Any]) -> None:
    from evalkit.batch.caller import BATCH_OPTIONS
    from evalkit.generators.registry import check_options

    # Batch options belong to the batch layer around the model, not to the provider itself.
    check_options(spec, {k: v for k, v in options.items() if k not in BATCH_OPTIONS})


def check_references(config: RunConfig, source: str) -> None:
    """Resolve every provider, template and judge the config names.

    Raises:
        UnknownSpecError: A name is unknown; the message starts with ``source`` and the field.
        ConfigError: A template or judge file is invalid; same prefix.

    """
    from evalkit.judging import load_judge
    from evalkit.system_templates import load_template

    for index, system in enumerate(config.systems):
        _at(source, f"systems[{index}].model", partial(_check_provider, system.model))
        _at(source, f"systems[{index}].options", partial(_check_options, system.model, system.options))
        _at(source, f"systems[{index}].template", partial(load_template, named(config, system.template)))
    for index, judge in enumerate(config.judges):
        if judge.kind != "llm":
            continue  # other kinds read their own fields; the judge factory checks them
        _at(source, f"judges[{index}].model", partial(_check_provider, judge.model))
        _at(source, f"judges[{index}].options", partial(_check_options, judge.model, judge.options))
        _at(source, f"judges[{index}].judge", partial(load_judge, named(config, judge.judge)))
