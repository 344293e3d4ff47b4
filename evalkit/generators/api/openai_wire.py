"""Requests to and responses from the OpenAI chat and text completion endpoints.

Pure functions between evalkit's request/completion records and the SDK's arguments
and response objects, read by attribute so any object of the documented shape works.
"""

from __future__ import annotations

import json
from typing import Any

from evalkit.generators.api.support import MalformedResponseError, normalise_finish
from evalkit.generators.base import Completion, CompletionRequest, TokenLogprob


def messages_as_sent(request: CompletionRequest) -> list[dict[str, str]]:
    """The chat messages in the wire format of the chat completions endpoint."""
    return [{"role": m.role, "content": m.content} for m in request.messages]


def _sampling(request: CompletionRequest) -> dict[str, Any]:
    params = request.params
    found: dict[str, Any] = {"temperature": params.temperature, "top_p": params.top_p}
    if params.seed is not None:
        found["seed"] = params.seed
    if params.stop:
        found["stop"] = list(params.stop)
    return found


def chat_arguments(model: str, request: CompletionRequest, max_tokens_param: str) -> dict[str, Any]:
    """Keyword arguments for ``chat.completions.create``."""
    arguments = {"model": model, "messages": messages_as_sent(request), **_sampling(request)}
    arguments[max_tokens_param] = request.params.max_tokens
    if request.top_logprobs is not None:
        arguments["logprobs"] = True
        arguments["top_logprobs"] = request.top_logprobs
    if request.response_format is not None:
        arguments["response_format"] = request.response_format
    return arguments


def completion_arguments(model: str, request: CompletionRequest) -> dict[str, Any]:
    """Keyword arguments for ``completions.create`` (raw text prompts)."""
    arguments = {"model": model, "prompt": request.prompt, "max_tokens": request.params.max_tokens}
    arguments.update(_sampling(request))
    if request.top_logprobs is not None:
        arguments["logprobs"] = request.top_logprobs
    return arguments


def _first_choice(response: Any) -> Any:
    choices = getattr(response, "choices", None)
    if not choices:
        raise MalformedResponseError(f"no choices in the response ({type(response).__name__})")
    return choices[0]


def _usage(response: Any) -> dict[str, int]:
    usage = getattr(response, "usage", None)
    return {
        "prompt_tokens": int(getattr(usage, "prompt_tokens", 0) or 0),
        "completion_tokens": int(getattr(usage, "completion_tokens", 0) or 0),
    }


def parse_chat(response: Any, model: str, request: CompletionRequest) -> Completion:
    """A Completion from a chat.completion response."""
    choice = _first_choice(response)
    message = getattr(choice, "message", None)
    if message is None:
        raise MalformedResponseError("the first choice has no message")
    if message.content is None:
        refusal = getattr(message, "refusal", None)
        why = f"the model refused: {refusal}" if refusal else "the server returned no text (content: null)"
        raise MalformedResponseError(why)
    wanted = request.top_logprobs is not None
    return Completion(
        text=message.content,
        model_id=getattr(response, "model", None) or model,
        finish_reason=normalise_finish(choice.finish_reason),
        rendered_prompt=json.dumps(messages_as_sent(request), ensure_ascii=False),
        logprobs=_chat_logprobs(getattr(choice, "logprobs", None)) if wanted else None,
        **_usage(response),
    )


def _chat_logprobs(logprobs: Any) -> tuple[TokenLogprob, ...]:
    steps = getattr(logprobs, "content", None) or []
    return tuple(
        TokenLogprob(
            token=step.token,
            logprob=float(step.logprob),
            top=tuple((alt.token, float(alt.logprob)) for alt in (step.top_logprobs or [])),
        )
        for step in steps
    )


def parse_completion(response: Any, model: str, request: CompletionRequest) -> Completion:
    """A Completion from a text_completion response (raw prompts)."""
    choice = _first_choice(response)
    wanted = request.top_logprobs is not None
    return Completion(
        text=getattr(choice, "text", None) or "",
        model_id=getattr(response, "model", None) or model,
        finish_reason=normalise_finish(choice.finish_reason),
        rendered_prompt=request.prompt or "",
        logprobs=_completion_logprobs(getattr(choice, "logprobs", None)) if wanted else None,
        **_usage(response),
    )


def _completion_logprobs(logprobs: Any) -> tuple[TokenLogprob, ...]:
    tokens = getattr(logprobs, "tokens", None) or []
    values = getattr(logprobs, "token_logprobs", None) or []
    tops = getattr(logprobs, "top_logprobs", None) or [None] * len(tokens)
    steps = []
    for token, value, top in zip(tokens, values, tops, strict=False):
        ranked = sorted((top or {}).items(), key=lambda item: item[1], reverse=True)
        steps.append(
            TokenLogprob(
                token=token,
                logprob=float(value) if value is not None else float("-inf"),
                top=tuple((t, float(v)) for t, v in ranked),
            )
        )
    return tuple(steps)
