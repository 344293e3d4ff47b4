"""Judge kinds: configured judges resolve to implementations of the judge seam.

Built-in and third-party kinds resolve through one table, the ``evalkit.judges``
entry-point group (the built-in "llm" kind is declared in pyproject.toml too). A kind's
factory takes the judge's config and a ``JudgeContext`` and returns a ``PairwiseJudge`` or
a ``Grader``; a config picks the kind with ``kind:`` (default "llm").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from evalkit.cache import CachedCaller
from evalkit.errors import ConfigError
from evalkit.fingerprint import digest, without_secrets
from evalkit.generators.base import Capabilities
from evalkit.generators.registry import entry_point_table, load_target
from evalkit.judging import Grader, LLMGrader, LLMPairwiseJudge, PairwiseJudge, load_judge, make_judge
from evalkit.judging.constrained import Constraint
from evalkit.judging.templates import template_hash
from evalkit.runner.config import JudgeConfig
from evalkit.runner.meta import ResolvedJudge

ENTRY_POINT_GROUP = "evalkit.judges"
BUILTIN_KINDS: dict[str, str] = {"llm": "evalkit.runner.judges:create_llm_judge"}
"""Also declared as entry points; kept here so a source checkout without an install works."""

AnyJudge = PairwiseJudge | Grader


@dataclass(frozen=True)
class JudgeContext:
    """What a judge factory may use from the run.

    Attributes:
        caller: Returns the cached caller of a model spec with options (built once per run).
        resolve: Resolves a path written in the config against the config's folder.

    """

    caller: Callable[[str, dict[str, object]], CachedCaller]
    resolve: Callable[[str], Path]


JudgeFactory = Callable[[JudgeConfig, JudgeContext], AnyJudge]


@cache
def judge_kinds() -> dict[str, str]:
    """Judge kind -> "module:attr", built-ins overridden by installed entry points."""
    return entry_point_table(ENTRY_POINT_GROUP, BUILTIN_KINDS)


def build_judge(config: JudgeConfig, context: JudgeContext, *, where: str = "judges") -> AnyJudge:
    """The judge a config entry names, checked against the seam.

    Raises:
        ConfigError: Unknown kind, or a factory that returned something that is not a judge.

    """
    target = judge_kinds().get(config.kind)
    if target is None:
        raise ConfigError(
            f"{where}.kind: unknown judge kind {config.kind!r}; "
            f"known kinds: {', '.join(sorted(judge_kinds()))}"
        )
    factory: JudgeFactory = load_target(target)
    judge = factory(config, context)
    if not isinstance(judge, PairwiseJudge | Grader):
        raise ConfigError(
            f"{where}: judge kind {config.kind!r} ({target}) returned {type(judge).__name__}, "
            "which implements neither PairwiseJudge (judge_pair) nor Grader (grade_response)"
        )
    return judge


def judge_source(config: JudgeConfig, judge_name: str) -> str:
    """The Judgment/Grade source label of a configured LLM judge."""
    return f"llm:{config.name}" if config.name else f"llm:{judge_name}@{config.model}"


def create_llm_judge(config: JudgeConfig, context: JudgeContext) -> LLMPairwiseJudge | LLMGrader:
    """The built-in "llm" kind: a judge definition from judges/ (or a path) run on a model."""
    spec = load_judge(
        context.resolve(config.judge) if config.judge.endswith((".yaml", ".yml")) else config.judge
    )
    caller = context.caller(config.model, dict(config.options))
    generator = caller.generator
    capabilities = generator.capabilities
    constraint = verdict_constraint(config, capabilities)
    text_prompt = config.uses_text_prompt(capabilities)
    fingerprint = digest(
        {
            "kind": "llm",
            "spec": spec.model_dump(mode="json"),
            "templates": template_hash(spec),
            "backend": generator.identity(),
            "options": without_secrets(config.options),
            "logprobs": capabilities.logprobs,
            "structured": constraint == "json",
            "constrained": constraint,
            "text_prompt": text_prompt,
        }
    )
    return make_judge(
        spec,
        config.model,
        source=judge_source(config, spec.name),
        supports_logprobs=capabilities.logprobs,
        supports_structured=constraint == "json",
        supports_grammar=constraint == "grammar",
        text_prompt=text_prompt,
        complete=caller,
        fingerprint=fingerprint,
    )


def verdict_constraint(config: JudgeConfig, capabilities: Capabilities) -> Constraint | None:
    """How the judge's verdicts are constrained on this backend (``structured`` in the config).

    Raises:
        ConfigError: ``structured`` asks for a constraint the backend does not declare.

    """
    mode = config.structured
    if mode in ("auto", "on") and capabilities.grammar:
        return "grammar"
    if mode in ("on", "json") and capabilities.structured_output:
        return "json"
    if mode in ("on", "json"):
        raise ConfigError(
            f"judge {config.judge!r} on {config.model}: 'structured: {mode}' needs a backend that declares "
            "constrained decoding (grammars or JSON schemas), and this one does not; use 'structured: auto'"
        )
    return None


def describe(config: JudgeConfig, judge: AnyJudge) -> ResolvedJudge:
    """What a configured judge resolved to, for run.json."""
    spec = judge.spec if isinstance(judge, LLMPairwiseJudge | LLMGrader) else None
    caller = judge.complete if isinstance(judge, LLMPairwiseJudge | LLMGrader) else None
    demo = caller.generator.capabilities.demonstration_only if isinstance(caller, CachedCaller) else None
    return ResolvedJudge(
        source=judge.source,
        judge=spec.name if spec is not None else config.judge,
        kind="pairwise" if isinstance(judge, PairwiseJudge) else "grade",
        version=spec.version if spec is not None else str(getattr(judge, "version", "")),
        model=config.model,
        fingerprint=judge.fingerprint,
        demonstration_only=demo,
        reconcile=config.reconcile,
        constrained=judge.constraint if isinstance(judge, LLMPairwiseJudge | LLMGrader) else None,
    )
