"""JSON schemas for structured output (``CompletionRequest.response_format``).

The format follows the widely used ``{"type": "json_schema", "json_schema": {...}}``
shape; backends that support structured output translate it as needed.
"""

from __future__ import annotations

from typing import Any

from evalkit.judging.spec import JudgeSpec


def verdict_schema(spec: JudgeSpec) -> dict[str, Any]:
    """The JSON schema of a judge's answer: rationale (if the format has one) then the verdict."""
    if spec.verdict.format == "aspects":
        properties: dict[str, Any] = {
            aspect.name: {"type": "integer", "minimum": aspect.minimum, "maximum": aspect.maximum}
            for aspect in spec.aspects
        }
    else:
        properties = {spec.verdict.json_key: {"type": "string", "enum": list(spec.label_order)}}
    if spec.verdict.format == "final_line":
        properties = {"rationale": {"type": "string"}, **properties}
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def response_format(spec: JudgeSpec) -> dict[str, Any]:
    """The ``response_format`` value asking the backend for JSON that follows ``verdict_schema``."""
    return {
        "type": "json_schema",
        "json_schema": {"name": "judge_verdict", "strict": True, "schema": verdict_schema(spec)},
    }
