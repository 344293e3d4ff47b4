"""Variables available to judge templates.

Pairwise templates see: ``question`` (the final user turn), ``turns``, ``first`` and
``second`` (final answers in the order shown), ``first_dialogue`` and ``second_dialogue``
(lists of ``{user, assistant}``), ``reference``, ``references``, ``category``, ``labels``
(``{code, name}``) and ``structured``.

Grade templates see: ``question`` and ``answer`` (the graded turn), ``history`` (earlier
exchanges), ``dialogue`` (history plus the graded exchange, or the whole conversation in
"conversation" mode), ``turn`` (1-based) and ``turn_count``, ``reference``,
``references``, ``category``, ``labels``, ``aspects`` (``{name, description, minimum,
maximum}``) and ``structured``.
"""

from __future__ import annotations

from typing import Any

from evalkit.errors import ConfigError
from evalkit.judging.spec import JudgeSpec
from evalkit.records import Prompt, Response


class MissingReferenceError(ConfigError):
    """A reference-guided judge was given a prompt without a reference answer."""


def pairwise_context(
    spec: JudgeSpec, prompt: Prompt, first: Response, second: Response, *, structured: bool
) -> dict[str, Any]:
    """Template variables for judging ``first`` against ``second`` (in the order shown)."""
    last = len(prompt.turns) - 1
    return {
        **_common(spec, prompt, last, structured=structured),
        "question": prompt.turns[-1],
        "first": first.text,
        "second": second.text,
        "first_dialogue": _exchanges(prompt, first, len(prompt.turns)),
        "second_dialogue": _exchanges(prompt, second, len(prompt.turns)),
    }


def grade_context(
    spec: JudgeSpec, prompt: Prompt, response: Response, turn: int, *, structured: bool
) -> dict[str, Any]:
    """Template variables for grading ``response`` at ``turn`` (0-based)."""
    whole = spec.multi_turn == "conversation"
    outputs = response.outputs
    return {
        **_common(spec, prompt, turn, structured=structured),
        "question": prompt.turns[turn],
        "answer": outputs[turn] if turn < len(outputs) else "",
        "history": _exchanges(prompt, response, turn),
        "dialogue": _exchanges(prompt, response, len(prompt.turns) if whole else turn + 1),
        "turn": turn + 1,
        "aspects": [aspect.model_dump() for aspect in spec.aspects],
    }


def example_context(spec: JudgeSpec) -> dict[str, Any]:
    """Variables filled with example values, used to check templates when a judge loads."""
    prompt = Prompt(id="example", turns=("Example question?",), reference=("Example reference.",))
    first = Response(prompt_id="example", system="x", outputs=("First example answer.",))
    second = Response(prompt_id="example", system="y", outputs=("Second example answer.",))
    if spec.kind == "pairwise":
        return pairwise_context(spec, prompt, first, second, structured=False)
    return grade_context(spec, prompt, first, 0, structured=False)


def _common(spec: JudgeSpec, prompt: Prompt, turn: int, *, structured: bool) -> dict[str, Any]:
    return {
        "turns": list(prompt.turns),
        "turn_count": len(prompt.turns),
        "reference": _reference(spec, prompt, turn),
        "references": list(prompt.reference) if prompt.reference else None,
        "category": prompt.category,
        "labels": [{"code": label.code, "name": label.name} for label in spec.labels],
        "structured": structured,
    }


def _reference(spec: JudgeSpec, prompt: Prompt, turn: int) -> str | None:
    references = prompt.reference or ()
    reference = references[turn] if turn < len(references) else None
    if spec.reference_guided and not reference:
        raise MissingReferenceError(
            f"prompt {prompt.id!r} has no reference answer for turn {turn + 1}, but judge "
            f"{spec.name!r} is reference-guided; add 'reference' to the prompt or use another judge"
        )
    return reference


def _exchanges(prompt: Prompt, response: Response, count: int) -> list[dict[str, str]]:
    pairs = zip(prompt.turns[:count], response.outputs[:count], strict=False)
    return [{"user": user, "assistant": assistant} for user, assistant in pairs]
