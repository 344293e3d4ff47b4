"""Verdict probabilities from token log-probabilities.

The verdict token is the generated token that covers the label the text parser found
(for verdict-only judges, the first token). Its top alternatives are mapped to labels,
tolerating tokenizer variants (" A", "A", "a", "▁A", "ĠA", "**A"), summed per label and
renormalised over the label tokens. When the labels carry less than the judge's
``min_label_mass`` at that step, the probabilities are not trusted and not returned.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from evalkit.generators.base import TokenLogprob
from evalkit.judging.extraction import clean
from evalkit.judging.spec import JudgeSpec

_SPACE_MARKERS = {"▁": " ", "Ġ": " ", "Ċ": "\n"}


def normalize_token(token: str) -> str:
    """A token without tokenizer space markers, whitespace, markdown or case."""
    for marker, replacement in _SPACE_MARKERS.items():
        token = token.replace(marker, replacement)
    return clean(token).casefold()


def token_label(token: str, spec: JudgeSpec) -> str | None:
    """The label a single token stands for: an exact token spelling, or a unique prefix of a code."""
    normalized = normalize_token(token)
    if not normalized:
        return None
    for label in spec.labels:
        if any(normalized == normalize_token(t) for t in label.logprob_tokens):
            return label.code
    if len(normalized) < 2:
        return None
    prefixed = [label.code for label in spec.labels if label.code.casefold().startswith(normalized)]
    return prefixed[0] if len(prefixed) == 1 else None


def token_spans(text: str, steps: Sequence[TokenLogprob]) -> list[tuple[int, int] | None]:
    """Character span of each generated token in ``text`` (None where it cannot be located)."""
    spans: list[tuple[int, int] | None] = []
    cursor = 0
    for step in steps:
        index = text.find(step.token, cursor) if step.token else -1
        if index < 0:
            spans.append(None)
            continue
        spans.append((index, index + len(step.token)))
        cursor = index + len(step.token)
    return spans


def verdict_step(
    text: str, steps: Sequence[TokenLogprob], start: int, spec: JudgeSpec
) -> TokenLogprob | None:
    """The generated step whose token covers character ``start`` and stands for a label."""
    for step, span in zip(steps, token_spans(text, steps), strict=True):
        if span is not None and span[0] <= start < span[1]:
            return step if token_label(step.token, spec) is not None else None
    return None


def label_distribution(step: TokenLogprob, spec: JudgeSpec) -> dict[str, float] | None:
    """Probabilities over label codes at one step, renormalised; None below ``min_label_mass``."""
    candidates = {step.token: step.logprob}
    for token, logprob in step.top:
        candidates[token] = max(logprob, candidates.get(token, -math.inf))
    mass: dict[str, float] = {label.code: 0.0 for label in spec.labels}
    for token, logprob in candidates.items():
        code = token_label(token, spec)
        if code is not None:
            mass[code] += math.exp(logprob)
    total = sum(mass.values())
    threshold = spec.logprobs.min_label_mass if spec.logprobs else 1.0
    if total <= 0.0 or total < threshold:
        return None
    return {code: value / total for code, value in mass.items()}


def read_probabilities(
    text: str, steps: Sequence[TokenLogprob] | None, start: int | None, spec: JudgeSpec
) -> dict[str, float] | None:
    """Label probabilities at the verdict token of a completion, or None when unavailable."""
    if not steps or start is None or spec.logprobs is None:
        return None
    step = verdict_step(text, steps, start, spec)
    return None if step is None else label_distribution(step, spec)


def argmax_label(probabilities: dict[str, float]) -> str | None:
    """The most probable label; None when the top two are equal (within rounding)."""
    ranked = sorted(probabilities.items(), key=lambda item: item[1], reverse=True)
    if len(ranked) > 1 and math.isclose(ranked[0][1], ranked[1][1], rel_tol=1e-9, abs_tol=1e-12):
        return None
    return ranked[0][0]
