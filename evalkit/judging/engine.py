"""The call-and-read loop shared by pairwise judges and graders.

One call; if its verdict is unparsed, exactly one follow-up that appends the judge's
answer and asks for the verdict alone; if still unparsed, the reading stays unparsed
with the raw text kept. Generation failures become readings with ``error`` set.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from evalkit.errors import GenerationError
from evalkit.generators.base import Completion, CompletionRequest, SamplingParams
from evalkit.judging.constrained import Constraint, constrained_max_tokens, grammar_format
from evalkit.judging.extraction import ParsedVerdict, parse_verdict
from evalkit.judging.logprobs import read_probabilities
from evalkit.judging.spec import JudgeSpec
from evalkit.judging.structured import response_format
from evalkit.judging.templates import JudgeTemplates, template_hash
from evalkit.records import JudgeProvenance, Message

Complete = Callable[[CompletionRequest], Awaitable[Completion]]
REASK_SEPARATOR = "\n\n[asked again for the verdict only]\n"


@dataclass(frozen=True)
class Reading:
    """A judge's answer as read: the verdict (if any), label probabilities, raw text, errors."""

    verdict: ParsedVerdict
    probabilities: dict[str, float] | None = None
    raw: str = ""
    model_id: str = ""
    error: str | None = None


def sampling_params(spec: JudgeSpec, sample: int) -> SamplingParams:
    """The judge's parameters; repeated samples (sample > 0) use ``resample`` and seed + sample."""
    if sample == 0:
        return spec.params
    update: dict[str, Any] = {
        "temperature": spec.resample.temperature,
        "seed": (spec.params.seed or 0) + sample,
    }
    if spec.resample.top_p is not None:
        update["top_p"] = spec.resample.top_p
    return spec.params.model_copy(update=update)


class VerdictEngine:
    """Builds judge requests from template variables and reads verdicts back.

    With ``supports_grammar`` the verdict is constrained by a grammar to the judge's own
    format (the prompt is unchanged); otherwise with ``supports_structured`` it is asked
    for as JSON following the judge's schema (the prompt gains the JSON instruction).
    """

    def __init__(
        self,
        spec: JudgeSpec,
        model_spec: str,
        *,
        supports_logprobs: bool,
        supports_structured: bool,
        text_prompt: bool = False,
        supports_grammar: bool = False,
    ) -> None:
        self.spec = spec
        self.model_spec = model_spec
        self.templates = JudgeTemplates(spec)
        self.template_hash = template_hash(spec)
        self.top_logprobs = spec.logprobs.top if supports_logprobs and spec.logprobs else None
        self.constraint: Constraint | None = (
            "grammar" if supports_grammar else "json" if supports_structured else None
        )
        self.structured = self.constraint == "json"
        self.text_prompt = text_prompt

    def request(self, context: Mapping[str, Any], sample: int) -> CompletionRequest:
        """The first call's request for these template variables."""
        rendered = self.templates.render(context)
        user = rendered.user
        if self.structured:
            user = f"{user}\n\n{self.spec.verdict.structured_instruction}"
        options: dict[str, Any] = {"messages": (Message(role="user", content=user),)}
        if rendered.system:
            options["messages"] = (Message(role="system", content=rendered.system), *options["messages"])
        if self.text_prompt:
            # Base models continue text: the prompt ends on a new line where the verdict goes.
            options = {"prompt": "\n\n".join(m.content for m in options["messages"]) + "\n"}
        params = sampling_params(self.spec, sample)
        if self.constraint == "grammar":
            params = params.model_copy(
                update={"max_tokens": constrained_max_tokens(self.spec, params.max_tokens)}
            )
        return CompletionRequest(
            **options,
            params=params,
            top_logprobs=self.top_logprobs,
            response_format=self._response_format(params.max_tokens),
        )

    def _response_format(self, max_tokens: int) -> dict[str, Any] | None:
        if self.constraint == "grammar":
            return grammar_format(self.spec, max_tokens)
        return response_format(self.spec) if self.constraint == "json" else None

    def reask_request(
        self, first: CompletionRequest, answer: str, context: Mapping[str, Any]
    ) -> CompletionRequest:
        """The single follow-up: the judge's answer appended, then a request for the verdict alone."""
        max_tokens = self.spec.verdict.reask_max_tokens
        if self.constraint == "grammar":
            max_tokens = constrained_max_tokens(self.spec, max_tokens)
        params = first.params.model_copy(update={"max_tokens": max_tokens})
        update: dict[str, Any] = {"params": params, "response_format": self._response_format(max_tokens)}
        reask = self.templates.render_reask(context)
        if first.prompt is not None:
            update["prompt"] = f"{first.prompt}{answer.rstrip()}\n\n{reask}\n"
            return first.model_copy(update=update)
        follow_up = (
            Message(role="assistant", content=answer),
            Message(role="user", content=reask),
        )
        return first.model_copy(update={**update, "messages": first.messages + follow_up})

    async def read(self, complete: Complete, context: Mapping[str, Any], sample: int) -> Reading:
        """Call the judge, re-ask once if needed, and return what could be read."""
        request = self.request(context, sample)
        try:
            completion = await complete(request)
        except GenerationError as exc:
            return Reading(ParsedVerdict(), error=str(exc))
        first = self._interpret(completion)
        if first.verdict.parsed:
            return first
        try:
            retry = await complete(self.reask_request(request, completion.text, context))
        except GenerationError as exc:
            return Reading(
                ParsedVerdict(),
                raw=completion.text,
                model_id=completion.model_id,
                error=f"re-ask failed: {exc}",
            )
        second = self._interpret(retry)
        reasoned = self.spec.verdict.format == "final_line"
        rationale = second.verdict.rationale or (completion.text.strip() if reasoned else "")
        verdict = second.verdict if not second.verdict.parsed else _with_rationale(second.verdict, rationale)
        return Reading(
            verdict,
            second.probabilities,
            completion.text + REASK_SEPARATOR + retry.text,
            retry.model_id or completion.model_id,
        )

    def provenance(self, model_id: str, sample: int) -> JudgeProvenance:
        """Who judged, with which template and parameters."""
        params: dict[str, Any] = sampling_params(self.spec, sample).model_dump(mode="json")
        params["top_logprobs"] = self.top_logprobs
        params["structured"] = self.structured
        params["constrained"] = self.constraint
        params["text_prompt"] = self.text_prompt
        return JudgeProvenance(
            judge=self.spec.name,
            judge_version=self.spec.version,
            model_spec=self.model_spec,
            model_id=model_id,
            template_hash=self.template_hash,
            params=params,
        )

    def _interpret(self, completion: Completion) -> Reading:
        verdict = parse_verdict(completion.text, self.spec)
        probabilities = read_probabilities(completion.text, completion.logprobs, verdict.start, self.spec)
        return Reading(verdict, probabilities, completion.text, completion.model_id)


def _with_rationale(verdict: ParsedVerdict, rationale: str) -> ParsedVerdict:
    return ParsedVerdict(verdict.label, verdict.aspects, verdict.start, rationale)
