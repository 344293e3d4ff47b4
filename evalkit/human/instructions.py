"""What an annotator is told: the same instructions and label definitions the LLM judge gets.

The text comes from the judge definition itself (judges/*.yaml and its template), rendered
with the judge's own example values, so people and models work from one wording. Only the
parts meant for a model are left out: the answer-format line ("Reply with one letter"),
the solved examples and the slots for the item itself, which the page shows on its own.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from evalkit.judging import load_judge
from evalkit.judging.context import example_context
from evalkit.judging.spec import JudgeSpec
from evalkit.judging.templates import JudgeTemplates

_STOP = re.compile(r"^(solved examples|###|<|now the real case|\()", re.IGNORECASE)
_FORMAT_LINE = re.compile(r"^(reply |\{)", re.IGNORECASE)
_DEFINITION = re.compile(r"^(\S+) = (.+)$")
_ASPECT_LINE = re.compile(r"^- \w+: ")
# The judge's example values speak of one specific turn; people grade every turn.
_EXAMPLE_COUNTS = (
    (re.compile(r"in turn 1 of 1\b"), "in each turn"),
    (re.compile(r"same 1 message\(s\)"), "same messages"),
)


@dataclass(frozen=True)
class Choice:
    """One answer an annotator can give.

    Attributes:
        code: The judge's label code ("A", "N", "pass", "4").
        key: The keyboard key that picks it.
        title: The label's short name.
        definition: What it means, from the judge's instructions.
        score: Grades: the label's numeric value.
        outcome: Pairwise: which shown response it favours ("first" / "second" / "tie").

    """

    code: str
    key: str
    title: str
    definition: str
    score: float | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class Instructions:
    """A judge's instructions for people, its answer choices and (multi-aspect) aspects."""

    judge: JudgeSpec
    text: str
    choices: tuple[Choice, ...]

    def choice(self, code: str) -> Choice | None:
        """The choice with this code, if any."""
        return next((c for c in self.choices if c.code == code), None)


def _instruction_lines(spec: JudgeSpec) -> list[str]:
    user = JudgeTemplates(spec).render(example_context(spec)).user
    lines: list[str] = []
    for line in user.splitlines():
        if _STOP.match(line.strip()):
            break
        lines.append(line.rstrip())
    return lines


@functools.lru_cache(maxsize=32)
def instructions_for(judge_name: str) -> Instructions:
    """The annotator's version of a judge's instructions (cached per judge name).

    Raises:
        ConfigError: The judge is unknown or invalid.

    """
    spec = load_judge(judge_name)
    lines = _instruction_lines(spec)
    definitions = {m.group(1).casefold(): m.group(2) for m in map(_DEFINITION.match, lines) if m}
    kept = [
        line
        for line in lines
        if not _DEFINITION.match(line) and not _FORMAT_LINE.match(line) and not _ASPECT_LINE.match(line)
    ]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    for pattern, generic in _EXAMPLE_COUNTS:
        text = pattern.sub(generic, text)
    choices = tuple(
        Choice(
            code=label.code,
            key=str(number),
            title=label.name or label.code,
            definition=definitions.get(label.code.casefold(), label.name),
            score=label.score,
            outcome=label.outcome,
        )
        for number, label in enumerate(spec.labels, start=1)
    )
    return Instructions(judge=spec, text=text, choices=choices)
