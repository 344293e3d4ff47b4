"""Turn what an annotator chose into records, and sign the forms that carry the choices.

Pairwise choices are made in *shown* terms (A is whatever was shown first); the stored
Judgment records the order shown and the outcome in canonical terms, so the shuffle is
undone here and nowhere else. Gold and attention items are scored silently.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evalkit.human.instructions import Instructions, instructions_for
from evalkit.human.tasks import Task
from evalkit.judging.templates import template_hash
from evalkit.records import Grade, JudgeProvenance, Judgment, Order, Outcome, swap_outcome

MAX_NOTE = 2000
_SHOWN: dict[str, Outcome] = {"first": "a", "second": "b", "tie": "tie"}


class InvalidAnswerError(ValueError):
    """The posted form does not hold a valid answer for this item (the message says which field)."""


class FormSigner:
    """Signs (annotator, item, revision, time shown) into each form; a key per server process.

    The key lives only in memory: a form opened before a restart is refused with a request
    to reload, while every answer already posted stays stored.
    """

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def _mac(self, *parts: object) -> str:
        message = "|".join(str(p) for p in parts).encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def sign(self, annotator: str, task_id: str, rev: int, shown_at: float) -> str:
        """The token a form carries."""
        shown_ms = int(shown_at * 1000)
        return f"{rev}.{shown_ms}.{self._mac(annotator, task_id, rev, shown_ms)}"

    def verify(self, token: str, annotator: str, task_id: str) -> tuple[int, float] | None:
        """The (revision, time shown) a valid token carries; None for a forged or foreign one."""
        try:
            rev_text, shown_text, mac = token.split(".", 2)
            rev, shown_ms = int(rev_text), int(shown_text)
        except ValueError:
            return None
        expected = self._mac(annotator, task_id, rev, shown_ms)
        return (rev, shown_ms / 1000) if hmac.compare_digest(mac, expected) else None


@dataclass(frozen=True)
class Parsed:
    """A valid answer: what to store and how checks scored it."""

    answer: dict[str, Any]
    records: dict[str, list[dict[str, Any]]]
    check_correct: bool | None


def _provenance(instructions: Instructions) -> JudgeProvenance:
    spec = instructions.judge
    return JudgeProvenance(
        judge=spec.name, judge_version=spec.version, model_spec="human", template_hash=template_hash(spec)
    )


def parse_pairwise(task: Task, annotator: str, order: Order, form: Mapping[str, str], note: str) -> Parsed:
    """A pairwise choice: one Judgment in canonical terms (none for attention checks)."""
    instructions = instructions_for(task.judge)
    choice = instructions.choice(form.get("choice", ""))
    if choice is None:
        codes = ", ".join(c.code for c in instructions.choices)
        raise InvalidAnswerError(f"field 'choice' must be one of {codes}")
    shown = _SHOWN[choice.outcome or "tie"]
    outcome = shown if order == "ab" else swap_outcome(shown)
    correct = None if task.check is None else outcome == task.expected
    answer = {"choice": choice.code, "outcome": outcome}
    if task.check == "attention":  # synthetic pair: scored, never a record of the run
        return Parsed(answer, {}, correct)
    judgment = Judgment(
        prompt_id=task.prompt_id,
        model_a=task.systems[0],
        model_b=task.systems[1],
        order=order,
        source=f"human:{annotator}",
        outcome=outcome,
        label=choice.code,
        raw=choice.code,
        rationale=note,
        provenance=_provenance(instructions),
        fingerprint=task.fingerprint,
    )
    return Parsed(answer, {"judgments": [judgment.model_dump(mode="json")]}, correct)


def parse_grade(task: Task, annotator: str, turns: int, form: Mapping[str, str], note: str) -> Parsed:
    """Grades: one per turn for dialogues, or one multi-aspect grade."""
    instructions = instructions_for(task.judge)
    spec = instructions.judge
    base = {
        "prompt_id": task.prompt_id,
        "system": task.systems[0],
        "scale": spec.scale_name,
        "source": f"human:{annotator}",
        "rationale": note,
        "provenance": _provenance(instructions),
        "fingerprint": task.fingerprint,
    }
    if spec.aspects:
        aspects = {a.name: _aspect_value(form, a.name, a.minimum, a.maximum) for a in spec.aspects}
        names = spec.score_aspects or tuple(aspects)
        score = sum(aspects[n] for n in names) / len(names)
        grade = Grade(label=None, aspects=aspects, score=score, raw=str(aspects), **base)
        return Parsed({"aspects": aspects}, {"grades": [grade.model_dump(mode="json")]}, None)
    grades, labels = [], []
    for turn in range(turns):
        field = "grade" if turns == 1 else f"grade-{turn}"
        choice = instructions.choice(form.get(field, ""))
        if choice is None:
            raise InvalidAnswerError(
                f"field '{field}' must be one of {', '.join(c.code for c in instructions.choices)}"
            )
        labels.append(choice.code)
        turn_field = None if turns == 1 else turn
        grades.append(Grade(label=choice.code, score=choice.score, raw=choice.code, turn=turn_field, **base))
    correct = None if task.check is None else labels[-1] == task.expected
    return Parsed({"grades": labels}, {"grades": [g.model_dump(mode="json") for g in grades]}, correct)


def _aspect_value(form: Mapping[str, str], name: str, low: int, high: int) -> float:
    raw = form.get(f"aspect-{name}", "")
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidAnswerError(f"field 'aspect-{name}' must be a whole number from {low} to {high}")
    return float(raw)


def clean_note(raw: str) -> str:
    """The optional note, bounded in size."""
    if len(raw) > MAX_NOTE:
        raise InvalidAnswerError(f"field 'note' is longer than {MAX_NOTE} characters; shorten it")
    return raw.strip()
