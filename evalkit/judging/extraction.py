"""Read a verdict out of a judge's text, strictly: nothing is ever guessed.

Accepted, in this order of evidence (all evidence found must agree, else unparsed):

1. a JSON object (bare or in a code fence) whose ``json_key`` holds a label;
2. marked lines such as ``Verdict: A`` / ``**Final verdict:** [[B]]``, or a marker
   heading (``### Verdict``) followed by a line holding only the label (markers from the
   judge file, case-insensitive, markdown and brackets ignored);
3. a bare label: the first non-empty line ("label" format) or the last non-empty line
   ("final_line" format) is exactly a label.

A label matches when the cleaned value equals its code or an alias, case-insensitively;
numeric codes also accept "5/6" and "5 out of 6". Anything else (prose, refusals, two
different labels) is unparsed and keeps its raw text. Multi-aspect grades need every
aspect, as JSON or as ``Aspect: n`` lines, within its range.

Log-probability reading lives in ``evalkit.judging.logprobs``; it needs the character
offset of the label in the text, which ``ParsedVerdict.start`` gives.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from evalkit.judging.spec import JudgeSpec

_FENCE = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)```", re.DOTALL)
_EDGE_CHARS = "*_`\"'“”‘’[](){}"
_TRAILING = ".!,;:"
_OUT_OF = re.compile(r"^(\d+(?:\.\d+)?)\s*(?:/|out of)\s*\d+$", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedVerdict:
    """What extraction found.

    Attributes:
        label: The matched label code, or None.
        aspects: Per-aspect scores for multi-aspect grades, or None.
        start: Character offset of the label in the text (for log-probability reading).
        rationale: The judge's reasoning, where the format has one.

    """

    label: str | None = None
    aspects: dict[str, float] | None = None
    start: int | None = None
    rationale: str = ""

    @property
    def parsed(self) -> bool:
        """True when a label or a full set of aspects was found."""
        return self.label is not None or self.aspects is not None


@dataclass(frozen=True)
class _Line:
    text: str
    offset: int


def parse_verdict(text: str, spec: JudgeSpec) -> ParsedVerdict:
    """Extract the verdict from a judge's answer; unparsed when the evidence is absent or contradictory."""
    if spec.verdict.format == "aspects":
        return ParsedVerdict(aspects=parse_aspects(text, spec), rationale=_json_rationale(text))
    found = [*_json_labels(text, spec), *_marked_labels(text, spec), *_bare_labels(text, spec)]
    if len({label for label, _, _ in found}) != 1:
        return ParsedVerdict()
    label, start, rationale = found[-1]
    return ParsedVerdict(label=label, start=start, rationale=rationale)


def match_label(value: str, spec: JudgeSpec) -> str | None:
    """The label code whose code or alias equals ``value`` after cleaning, else None."""
    cleaned = clean(value).casefold()
    number = _OUT_OF.match(cleaned)
    if number:
        cleaned = number.group(1)
    for label in spec.labels:
        if any(cleaned == clean(spelling).casefold() for spelling in label.spellings):
            return label.code
    return None


def clean(value: str) -> str:
    """Strip whitespace, markdown emphasis, quotes, brackets and trailing punctuation."""
    previous = None
    value = value.strip()
    while value != previous:
        previous = value
        value = value.strip().lstrip("#").lstrip()
        if value.startswith("> "):
            value = value[2:]
        value = value.strip(_EDGE_CHARS).rstrip(_TRAILING)
    return value


def _lines(text: str) -> Iterator[_Line]:
    offset = 0
    for line in text.splitlines(keepends=True):
        if line.strip():
            yield _Line(line.rstrip("\r\n"), offset)
        offset += len(line)


def _label_offset(line: _Line, label_code: str, spec: JudgeSpec) -> int:
    """Offset of the label's last whole-word occurrence in the line (longest spelling first)."""
    for spelling in sorted(spec.label(label_code).spellings, key=len, reverse=True):
        hits = list(re.finditer(rf"(?<!\w){re.escape(spelling)}(?!\w)", line.text, re.IGNORECASE))
        if hits:
            return line.offset + hits[-1].start()
    return line.offset


def _marker_pattern(spec: JudgeSpec) -> re.Pattern[str]:
    markers = sorted(spec.verdict.markers, key=len, reverse=True)
    alternatives = "|".join(re.escape(m) for m in markers)
    return re.compile(rf"^\W*(?:{alternatives})\s*[:：]\s*(?P<value>.+)$", re.IGNORECASE)


def _marked_labels(text: str, spec: JudgeSpec) -> list[tuple[str, int, str]]:
    """Labels on marked lines ("Verdict: B"), or on the line after a bare marker ("### Verdict")."""
    pattern = _marker_pattern(spec)
    markers = {marker.casefold() for marker in spec.verdict.markers}
    lines = list(_lines(text))
    found = []
    for index, line in enumerate(lines):
        bare = line.text.replace("*", "").replace("`", "")
        match = pattern.match(bare)
        value_line = line
        label = match_label(match.group("value"), spec) if match else None
        if not match and clean(bare).casefold() in markers and index + 1 < len(lines):
            value_line = lines[index + 1]
            label = match_label(value_line.text, spec)
        if label:
            found.append((label, _label_offset(value_line, label, spec), text[: line.offset].strip()))
    return found


def _bare_labels(text: str, spec: JudgeSpec) -> list[tuple[str, int, str]]:
    lines = list(_lines(text))
    if not lines:
        return []
    line = lines[0] if spec.verdict.format == "label" else lines[-1]
    label = match_label(line.text, spec)
    if label is None:
        return []
    return [(label, _label_offset(line, label, spec), text[: line.offset].strip())]


def _json_objects(text: str) -> list[dict[str, Any]]:
    candidates = [m.group(1) for m in _FENCE.finditer(text)]
    first, last = text.find("{"), text.rfind("}")
    if not candidates and 0 <= first < last:
        candidates.append(text[first : last + 1])
    objects = []
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            objects.append(value)
    return objects


def _json_labels(text: str, spec: JudgeSpec) -> list[tuple[str, int, str]]:
    found = []
    key = spec.verdict.json_key
    for obj in _json_objects(text):
        value = obj.get(key)
        valid = isinstance(value, str | int) and not isinstance(value, bool)
        label = match_label(str(value), spec) if valid else None
        if label is None:
            continue
        found.append((label, _json_value_offset(text, key), _rationale_of(obj)))
    return found


def _json_value_offset(text: str, key: str) -> int:
    match = re.search(rf'"{re.escape(key)}"\s*:\s*"?', text)
    return match.end() if match else 0


def _rationale_of(obj: dict[str, Any]) -> str:
    for key in ("rationale", "explanation", "reasoning"):
        if isinstance(obj.get(key), str):
            return str(obj[key]).strip()
    return ""


def _json_rationale(text: str) -> str:
    objects = _json_objects(text)
    return _rationale_of(objects[-1]) if objects else ""


def parse_aspects(text: str, spec: JudgeSpec) -> dict[str, float] | None:
    """Per-aspect scores from JSON or ``Aspect: n`` lines; None unless all are present and in range."""
    for obj in reversed(_json_objects(text)):
        scores = _aspects_from_mapping({str(k).casefold(): v for k, v in obj.items()}, spec)
        if scores is not None:
            return scores
    return _aspects_from_mapping(_aspect_lines(text), spec)


def _aspect_lines(text: str) -> dict[str, object]:
    values: dict[str, object] = {}
    contradicted: set[str] = set()
    for line in _lines(text):
        name, sep, value = line.text.replace("*", "").partition(":")
        key = clean(name).casefold()
        if not sep or not key:
            continue
        cleaned = clean(value)
        if key in values and values[key] != cleaned:
            contradicted.add(key)
        values[key] = cleaned
    return {k: v for k, v in values.items() if k not in contradicted}


def _aspects_from_mapping(values: dict[str, object], spec: JudgeSpec) -> dict[str, float] | None:
    scores: dict[str, float] = {}
    for aspect in spec.aspects:
        score = _aspect_number(values.get(aspect.name.casefold()))
        if score is None or not aspect.minimum <= score <= aspect.maximum:
            return None
        scores[aspect.name] = score
    return scores


def _aspect_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if float(value).is_integer() else None
    if not isinstance(value, str):
        return None
    match = _OUT_OF.match(value) or re.fullmatch(r"(\d+)", value)
    return float(match.group(1)) if match and float(match.group(1)).is_integer() else None
