"""Wire shapes of the batch stand-in: batches, results and answers as the providers write them."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass
class StandInBatch:
    """One batch as the stand-in holds it."""

    id: str
    kind: str  # "openai" or "anthropic"
    ordinal: int
    input_path: Path
    created: float
    metadata: dict[str, str]
    total: int
    status: str = "in_progress"
    cancelled: bool = False
    output_path: Path | None = None
    error_path: Path | None = None
    counts: dict[str, int] = field(default_factory=dict)


def reply_text(messages: Any, replies: tuple[str, ...]) -> str:
    """The deterministic answer to a conversation."""
    digest = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).digest()
    return replies[digest[0] % len(replies)]


def chat_completion(body: dict[str, Any], replies: tuple[str, ...], number: int) -> dict[str, Any]:
    text = reply_text(body.get("messages"), replies)
    prompt_chars = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
    return {
        "id": f"chatcmpl-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "stand-in"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_chars // 4 + 1, "completion_tokens": 1, "total_tokens": 0},
    }


def message(params: dict[str, Any], replies: tuple[str, ...], number: int) -> dict[str, Any]:
    text = reply_text(params.get("messages"), replies)
    prompt_chars = sum(len(str(m.get("content", ""))) for m in params.get("messages", []))
    return {
        "id": f"msg_{number}",
        "type": "message",
        "role": "assistant",
        "model": params.get("model", "stand-in"),
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": prompt_chars // 4 + 1, "output_tokens": 1},
    }


def iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC).isoformat()


def result_line(
    kind: str, entry: dict[str, Any], outcome: str, index: int, replies: tuple[str, ...]
) -> dict[str, Any]:
    """One line of a batch's results (or errors) in the provider's format."""
    custom_id = entry["custom_id"]
    if kind == "anthropic":
        result: dict[str, Any] = {"type": outcome}
        if outcome == "succeeded":
            result["message"] = message(entry["params"], replies, index)
        elif outcome == "errored":
            result["error"] = {
                "type": "error",
                "error": {"type": "api_error", "message": "stand-in failure"},
            }
        return {"custom_id": custom_id, "result": result}
    line: dict[str, Any] = {
        "id": f"batch_req_{index}",
        "custom_id": custom_id,
        "response": None,
        "error": None,
    }
    if outcome == "succeeded":
        line["response"] = {
            "status_code": 200,
            "request_id": f"req_{index}",
            "body": chat_completion(entry["body"], replies, index),
        }
    elif outcome == "errored":
        line["response"] = {
            "status_code": 500,
            "request_id": f"req_{index}",
            "body": {"error": {"message": "stand-in failure", "type": "server_error"}},
        }
    else:
        code = "batch_expired" if outcome == "expired" else "batch_cancelled"
        line["error"] = {"code": code, "message": f"request not run: {code}"}
    return line


def openai_view(batch: StandInBatch) -> dict[str, Any]:
    """A batch as OpenAI's batches endpoints show it."""
    ended = batch.status in {"completed", "expired", "cancelled"}
    done = batch.counts.get("succeeded", 0)
    return {
        "id": batch.id,
        "object": "batch",
        "endpoint": "/v1/chat/completions",
        "errors": None,
        "input_file_id": batch.input_path.name,
        "completion_window": "24h",
        "status": batch.status,
        "output_file_id": batch.output_path.name if ended and batch.output_path else None,
        "error_file_id": batch.error_path.name if ended and batch.error_path else None,
        "created_at": int(batch.created),
        "expires_at": int(batch.created) + 86400,
        "request_counts": {
            "total": batch.total,
            "completed": done,
            "failed": batch.total - done if ended else 0,
        },
        "metadata": batch.metadata,
    }


def anthropic_view(batch: StandInBatch) -> dict[str, Any]:
    """A batch as Anthropic's message batches endpoints show it."""
    ended = batch.status in {"completed", "expired", "cancelled"}
    counts = {k: batch.counts.get(k, 0) for k in ("succeeded", "errored", "canceled", "expired")}
    status = "ended" if ended else "canceling" if batch.cancelled else "in_progress"
    return {
        "id": batch.id,
        "type": "message_batch",
        "processing_status": status,
        "request_counts": {**counts, "processing": 0 if ended else batch.total},
        "created_at": iso(batch.created),
        "expires_at": iso(batch.created + 86400),
        "ended_at": iso(time.time()) if ended else None,
        "archived_at": None,
        "cancel_initiated_at": None,
        "results_url": f"/v1/messages/batches/{batch.id}/results" if ended else None,
    }
