"""What the two LLM judges share: a judge definition run on a model through a verdict engine."""

from __future__ import annotations

from evalkit.errors import ConfigError
from evalkit.judging.constrained import Constraint
from evalkit.judging.engine import Complete, VerdictEngine
from evalkit.judging.spec import JudgeSpec


class LLMJudge:
    """An LLM judge of one kind (pairwise or grade), the base of both implementations of the seam.

    Args:
        spec: A judge definition (``load_judge``) of the subclass's ``kind``.
        model_spec: The judge model's spec string, e.g. "openai/gpt-4o".
        source: The records' source; defaults to "llm:<judge name>@<model_spec>".
        supports_logprobs: Ask for token log-probabilities (when the judge defines label tokens).
        supports_structured: Ask for JSON output through ``response_format``.
        text_prompt: Send one raw text prompt (system, blank line, user, new line) instead
            of chat messages: for base models without a chat format (needs a backend that
            accepts raw prompts, such as local/ and gguf/).
        supports_grammar: Constrain the verdict to the judge's own format by a grammar
            (see ``evalkit.judging.constrained``); takes precedence over JSON output.
        complete: The judge model's complete function (a cached caller), bound for the
            seam's methods (``judge_pair`` / ``grade_response``).
        fingerprint: Digest of what determines its verdicts (set by the runner).

    """

    kind = ""
    """The judge definitions' kind this class runs ("pairwise" or "grade")."""

    def __init__(
        self,
        spec: JudgeSpec,
        model_spec: str,
        *,
        source: str | None = None,
        supports_logprobs: bool = False,
        supports_structured: bool = False,
        text_prompt: bool = False,
        supports_grammar: bool = False,
        complete: Complete | None = None,
        fingerprint: str = "",
    ) -> None:
        if spec.kind != self.kind:
            raise ConfigError(
                f"judge {spec.name!r} is a {spec.kind} judge, not a {self.kind} judge; "
                "build it with make_judge"
            )
        self.spec = spec
        self.model_spec = model_spec
        self.source = source or f"llm:{spec.name}@{model_spec}"
        self.complete = complete
        self.fingerprint = fingerprint
        self._engine = VerdictEngine(
            spec,
            model_spec,
            supports_logprobs=supports_logprobs,
            supports_structured=supports_structured,
            text_prompt=text_prompt,
            supports_grammar=supports_grammar,
        )

    @property
    def constraint(self) -> Constraint | None:
        """How its verdicts are constrained: "grammar", "json" or None."""
        return self._engine.constraint

    def _bound(self) -> Complete:
        if self.complete is None:
            raise ConfigError(f"judge {self.source!r} has no model bound; pass complete= when building it")
        return self.complete
