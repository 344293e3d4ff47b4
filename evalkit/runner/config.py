"""Run configuration: the YAML a user writes, validated into frozen models with clear errors."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evalkit.distributed.config import ExecutorConfig
from evalkit.errors import ConfigError
from evalkit.generators.base import Capabilities, SamplingParams
from evalkit.prompts.importers import PromptFormat

DEFAULT_OUTPUT_DIR = "reports"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SystemConfig(_Strict):
    """A system under test: a model plus its template and sampling parameters."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.+-]+$")
    model: str = Field(min_length=3)
    template: str = "plain"
    params: SamplingParams = SamplingParams()
    options: dict[str, Any] = Field(default_factory=dict)
    attributes: dict[str, str | int | float | bool] = Field(
        default_factory=dict,
        description="what distinguishes the system in an ablation (examples: 1000, source: web); "
        "the report plots scores against them when they vary",
    )


class ShiftConfig(_Strict):
    """Token distribution shift between a base system and an aligned one (both run systems)."""

    base: str = Field(min_length=1)
    aligned: str = Field(min_length=1)


class AnalysesConfig(_Strict):
    """Analyses computed after judging and shown in the report."""

    shift: ShiftConfig | None = None


class JudgeConfig(_Strict):
    """One judge: by default a judge definition (from judges/ or a path) run on a model.

    ``kind`` picks the implementation from the ``evalkit.judges`` entry-point group: "llm"
    (built in) or an installed third-party kind, which reads ``judge``, ``model`` and
    ``options`` as it documents.
    """

    judge: str = Field(min_length=1)
    kind: str = Field("llm", min_length=1)
    model: str = ""
    name: str | None = None
    samples: int = Field(1, ge=1, le=20)
    orders: Literal["both", "ab"] = "both"
    text_prompt: bool | None = Field(
        None,
        description="send the judge one plain-text prompt instead of chat messages; "
        "default: on for backends that declare a base model (local/, gguf/): no chat format learned",
    )
    structured: Literal["auto", "on", "off", "json"] = Field(
        "auto",
        description="constrain the verdict: 'auto' (default) by a grammar in the judge's own format "
        "where the backend declares grammars (llama.cpp, vLLM), else unconstrained; 'on' (or true) "
        "by a grammar, else as JSON following the judge's schema (response_format; OpenAI, "
        "Anthropic), else an error; 'json' always as JSON; 'off' (or false) never",
    )
    reconcile: Literal["rule", "probability"] = Field(
        "rule",
        description="how the two presentation orders combine: 'rule' (disagreement is a tie, as "
        "documented) or 'probability' (argmax of the mean label probabilities, when the backend "
        "returns them)",
    )
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("structured", mode="before")
    @classmethod
    def _structured_switch(cls, value: object) -> object:
        # YAML reads on/off/true/false as booleans.
        return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value

    @model_validator(mode="after")
    def _llm_needs_model(self) -> JudgeConfig:
        if self.kind == "llm" and len(self.model) < 3:
            raise ValueError("an LLM judge needs 'model' (a model spec such as openai/gpt-4o)")
        return self

    def uses_text_prompt(self, capabilities: Capabilities) -> bool:
        """Whether the judge gets a plain-text prompt (explicit setting, else the backend's declaration)."""
        if self.text_prompt is not None:
            return self.text_prompt
        return capabilities.base_model


class PanelConfig(_Strict):
    """How verdicts of several pairwise judges combine into one panel verdict."""

    method: Literal["majority", "mean_probability"] = "majority"


class RunConfig(_Strict):
    """A whole experiment: prompts, systems, comparisons, judges and run options."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.+-]+$")
    prompts: str
    prompt_format: PromptFormat = "auto"
    limit: int | None = Field(None, ge=1)
    categories: tuple[str, ...] | None = None
    splits: tuple[str, ...] | None = None
    seed: int = 0
    samples: int = Field(1, ge=1, le=20)
    systems: tuple[SystemConfig, ...] = Field(min_length=1)
    baseline: str | None = None
    comparisons: tuple[tuple[str, str], ...] | None = None
    judges: tuple[JudgeConfig, ...] = ()
    panel: PanelConfig | None = None
    analyses: AnalysesConfig | None = None
    concurrency: int | None = Field(None, ge=1)
    max_cost: float | None = Field(None, ge=0)
    batch: bool = Field(False, description="send API models' calls through provider batch jobs")
    executor: ExecutorConfig = ExecutorConfig()
    prices: dict[str, dict[str, float]] = Field(default_factory=dict)
    n_boot: int = Field(2000, ge=100, description="bootstrap replicates behind every interval")
    confidence: float = Field(0.95, gt=0.5, lt=1.0, description="coverage of every interval")
    output_dir: str = DEFAULT_OUTPUT_DIR
    cache: str | None = None
    base_dir: str = Field(".", description="folder relative paths resolve against (the config's folder)")

    @model_validator(mode="after")
    def _check_names(self) -> RunConfig:
        names = [s.name for s in self.systems]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"system names must be unique; repeated: {', '.join(duplicates)}")
        for pair in self.comparisons or ():
            for name in pair:
                if name not in names:
                    raise ValueError(f"comparison names unknown system {name!r}; systems: {', '.join(names)}")
            if pair[0] == pair[1]:
                raise ValueError(f"comparison {list(pair)} compares a system with itself")
        if self.baseline is not None and self.baseline not in names:
            raise ValueError(f"baseline {self.baseline!r} is not a system; systems: {', '.join(names)}")
        shift = self.analyses.shift if self.analyses else None
        roles = (("base", shift.base), ("aligned", shift.aligned)) if shift else ()
        for role, name in roles:
            if name not in names:
                raise ValueError(
                    f"analyses.shift.{role}: {name!r} is not a system; systems: {', '.join(names)}"
                )
        return self

    def pairs(self) -> list[tuple[str, str]]:
        """The (model_a, model_b) comparisons to judge: explicit, against the baseline, or all pairs."""
        if self.comparisons:
            return [tuple(p) for p in self.comparisons]  # type: ignore[misc]
        names = [s.name for s in self.systems]
        if self.baseline is not None:
            return [(n, self.baseline) for n in names if n != self.baseline]
        return list(itertools.combinations(names, 2))

    def resolve(self, path: str) -> Path:
        """Resolve a path from the config against the config's folder."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else Path(self.base_dir) / candidate

    def run_dir(self) -> Path:
        """Where this run's records and report go (output_dir is relative to the working folder)."""
        return Path(self.output_dir).expanduser() / self.name

    def cache_path(self) -> Path:
        """The SQLite cache file (shared by all runs under the same output folder by default)."""
        if self.cache:
            return Path(self.cache).expanduser()
        return Path(self.output_dir).expanduser() / ".cache" / "evalkit.sqlite"


def format_validation_error(source: str, exc: ValidationError) -> str:
    """One line per problem: where it is and what is wrong."""
    lines = [f"{source}: invalid configuration"]
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  - field '{where}': {err['msg']}")
    lines.append("Fix the fields above; see examples/ and the README for a complete config.")
    return "\n".join(lines)


def parse_config(data: Any, *, source: str = "<config>", base_dir: Path | None = None) -> RunConfig:
    """Validate a config mapping; errors name the source and each bad field."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the config must be a mapping of fields (name, prompts, systems, ...)")
    if base_dir is not None and "base_dir" not in data:
        data = {**data, "base_dir": str(base_dir)}
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(source, exc)) from exc
    from evalkit.runner.references import check_references  # it imports this module

    check_references(config, source)
    return config


def read_yaml(path: Path, what: str) -> Any:
    """A YAML file's content; an unreadable file or bad syntax is one error naming file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{where}: {problem}; fix the YAML syntax there") from exc


def load_config(path: Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read a YAML config file and apply command-line overrides (None values are ignored)."""
    data = read_yaml(path, "config")
    if isinstance(data, dict):
        data = {**data, **{k: v for k, v in (overrides or {}).items() if v is not None}}
    return parse_config(data, source=str(path), base_dir=path.resolve().parent)
