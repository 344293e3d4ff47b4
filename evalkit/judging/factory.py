"""Build the right judge object for a judge definition."""

from __future__ import annotations

from evalkit.judging.engine import Complete
from evalkit.judging.grader import LLMGrader
from evalkit.judging.pairwise import LLMPairwiseJudge
from evalkit.judging.spec import JudgeSpec


def make_judge(
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
) -> LLMPairwiseJudge | LLMGrader:
    """An LLMPairwiseJudge for pairwise judges, an LLMGrader for grade judges.

    Args:
        spec: The judge definition.
        model_spec: The judge model's spec string, e.g. "local/gemma-3-270m".
        source: Record source; defaults to "llm:<judge name>@<model_spec>".
        supports_logprobs: Whether the backend returns token log-probabilities.
        supports_structured: Whether the backend honours ``response_format`` JSON schemas.
        text_prompt: Send one raw text prompt instead of chat messages (base models).
        supports_grammar: Constrain the verdict to the judge's own format by a grammar
            (backends declaring ``capabilities.grammar``); takes precedence over JSON.
        complete: The judge model's complete function, bound for the judge seam's methods.
        fingerprint: Digest of what determines its verdicts.

    """
    kind: type[LLMPairwiseJudge] | type[LLMGrader] = (
        LLMPairwiseJudge if spec.kind == "pairwise" else LLMGrader
    )
    return kind(
        spec,
        model_spec,
        source=source,
        supports_logprobs=supports_logprobs,
        supports_structured=supports_structured,
        text_prompt=text_prompt,
        supports_grammar=supports_grammar,
        complete=complete,
        fingerprint=fingerprint,
    )
