"""Constrained verdicts: a grammar under which the judge can only write its own verdict format.

Small base models rarely stop where a judge's format says they should; a backend that
constrains decoding to a grammar (llama.cpp, vLLM) makes the format the only thing the
model can write, so every answer parses. The grammar (GBNF, which both backends read)
follows the judge's verdict format:

- "label": one of the label codes, nothing else;
- "final_line": a one-line rationale of at most N characters, a new line, then
  ``<Marker>: <label>`` (the marker is the judge's first one, capitalised);
- "aspects": the JSON object the aspects template asks for, each aspect an integer in range.

Termination is guaranteed: a token holds at least one character, so an answer of at most
``C`` characters needs at most ``C`` tokens; the rationale's bound is chosen so that the
whole answer fits in the request's ``max_tokens``, and ``constrained_max_tokens`` raises
the budget of verdict-only formats to their longest answer. Once the grammar is complete,
the backend can only end the answer.
"""

from __future__ import annotations

from typing import Any, Literal

from evalkit.judging.spec import JudgeSpec

Constraint = Literal["grammar", "json"]
"""How a verdict is constrained: the judge's own format by grammar, or JSON by schema."""

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def literal(text: str) -> str:
    """A GBNF string literal for ``text``."""
    return '"' + "".join(_ESCAPES.get(char, char) for char in text) + '"'


def _alternatives(values: list[str]) -> str:
    return "(" + " | ".join(literal(value) for value in values) + ")"


def verdict_marker(spec: JudgeSpec) -> str:
    """The marker a constrained final line starts with, e.g. "Verdict"."""
    marker = spec.verdict.markers[0] if spec.verdict.markers else "verdict"
    return marker[:1].upper() + marker[1:]


def _verdict_line(spec: JudgeSpec) -> tuple[str, int]:
    """The grammar of the final line (with its leading new line) and its longest length in characters."""
    prefix = f"\n{verdict_marker(spec)}: "
    longest = max(len(code) for code in spec.label_order)
    return f"{literal(prefix)} label", len(prefix) + longest


def _aspects_rule(spec: JudgeSpec) -> tuple[str, int]:
    """The grammar of the aspects' JSON object and its longest length in characters."""
    parts, length = [], 2  # the braces
    for index, aspect in enumerate(spec.aspects):
        key = f'{", " if index else ""}"{aspect.name}": '
        values = [str(n) for n in range(aspect.minimum, aspect.maximum + 1)]
        parts.append(f"{literal(key)} {_alternatives(values)}")
        length += len(key) + max(len(v) for v in values)
    return f'root ::= "{{" {" ".join(parts)} "}}"', length


def longest_answer(spec: JudgeSpec) -> int:
    """Characters of the longest verdict the grammar allows, the rationale left out."""
    if spec.verdict.format == "aspects":
        return _aspects_rule(spec)[1]
    if spec.verdict.format == "final_line":
        return _verdict_line(spec)[1]
    return max(len(code) for code in spec.label_order)


def constrained_max_tokens(spec: JudgeSpec, max_tokens: int) -> int:
    """``max_tokens`` raised, where needed, so that the shortest complete verdict always fits."""
    return max(max_tokens, longest_answer(spec))


def rationale_chars(spec: JudgeSpec, max_tokens: int) -> int:
    """The longest rationale that still leaves room for the verdict line within ``max_tokens``."""
    return max(0, max_tokens - longest_answer(spec))


def verdict_grammar(spec: JudgeSpec, max_tokens: int) -> str:
    """The GBNF grammar of a judge's verdict, complete within ``max_tokens`` tokens.

    Args:
        spec: The judge definition.
        max_tokens: The request's token budget (after ``constrained_max_tokens``).

    """
    if spec.verdict.format == "aspects":
        return _aspects_rule(spec)[0] + "\n"
    label = f"label ::= {_alternatives(list(spec.label_order))}"
    if spec.verdict.format == "label":
        return f"root ::= label\n{label}\n"
    line, _ = _verdict_line(spec)
    limit = rationale_chars(spec, max_tokens)
    rationale = f"rationale ::= [^\\n]{{0,{limit}}}" if limit else 'rationale ::= ""'
    return f"root ::= rationale {line}\n{rationale}\n{label}\n"


def grammar_format(spec: JudgeSpec, max_tokens: int) -> dict[str, Any]:
    """The ``response_format`` asking a grammar-capable backend for ``verdict_grammar``."""
    return {"type": "grammar", "grammar": verdict_grammar(spec, max_tokens)}
