"""The Anthropic Message Batches API behind :class:`~evalkit.batch.providers.BatchProvider`.

Message batches carry their requests in the create call's body and take no metadata, so a
batch whose id was lost (a kill between submission and the ledger) is found again by its
size and creation time among the batches created since the intent; the custom ids in its
results are checked against the request file when it is collected.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from evalkit.batch.providers import BatchProvider, MiB, RemoteState, ResultLine, read_lines, stream_to
from evalkit.generators.api.anthropic_api import _render, message_arguments, parse_message
from evalkit.generators.base import Completion, CompletionRequest

CLOCK_SKEW_S = 300.0


class AnthropicBatches(BatchProvider):
    """Message batches: create with the requests inline, poll, stream the results."""

    name = "anthropic"
    max_requests = 100_000
    max_bytes = 256 * MiB

    def request_line(self, custom_id: str, request: CompletionRequest) -> bytes:
        """``{"custom_id", "params"}`` with the same parameters the online call would send."""
        generator: Any = self.generator
        params = message_arguments(generator.model, request)
        if generator.api_version is not None:
            params.update(generator._sampling(request) or {})
        line = {"custom_id": custom_id, "params": params}
        return (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")

    async def submit(self, path: Path, metadata: Mapping[str, str]) -> str:
        """Create the batch from the file's lines (one file's worth in memory at a time)."""
        requests = [json.loads(line) for line in read_lines(path)]
        batch = await self.generator.client().messages.batches.create(requests=requests)
        return str(batch.id)

    async def find(
        self, metadata: Mapping[str, str], requests: int, after: float, claimed: frozenset[str]
    ) -> str | None:
        """A batch of exactly ``requests`` requests created since ``after`` (minus clock skew)."""
        client = self.generator.client()
        async for batch in client.messages.batches.list(limit=100):
            created = _timestamp(batch.created_at)
            if created < after - CLOCK_SKEW_S:
                return None
            counts = batch.request_counts
            total = counts.processing + counts.succeeded + counts.errored + counts.canceled + counts.expired
            if total == requests and str(batch.id) not in claimed:
                return str(batch.id)
        return None

    async def state(self, batch_id: str) -> RemoteState:
        """Processing status and counts from ``messages.batches.retrieve``."""
        batch = await self.generator.client().messages.batches.retrieve(batch_id)
        counts = batch.request_counts
        names = ("processing", "succeeded", "errored", "canceled", "expired")
        found = {k: int(getattr(counts, k)) for k in names}
        return RemoteState(batch.processing_status, found, batch.processing_status == "ended")

    async def download(self, batch_id: str, destination: Path) -> None:
        """Stream the results JSONL into ``destination``."""
        client = self.generator.client()
        with destination.open("wb") as handle:
            async with client.messages.batches.with_streaming_response.results(batch_id) as response:
                await stream_to(response, handle)

    def read_result(self, line: bytes) -> ResultLine:
        """``succeeded`` is a success; ``errored``, ``canceled`` and ``expired`` are failures."""
        entry = json.loads(line)
        result = entry.get("result") or {}
        kind = result.get("type", "unknown")
        if kind == "succeeded":
            return ResultLine(entry["custom_id"], True, line.decode("utf-8").rstrip("\n"))
        error = (result.get("error") or {}).get("error") or {}
        return ResultLine(entry["custom_id"], False, f"{kind}: {error.get('message', 'request not run')}")

    def completion(self, text: str, request: CompletionRequest) -> Completion:
        """Parse the stored message as the online path parses one."""
        generator: Any = self.generator
        message = generator.sdk.types.Message.model_validate(json.loads(text)["result"]["message"])
        return parse_message(message, generator.model, _render(message_arguments(generator.model, request)))

    async def cancel(self, batch_id: str) -> None:
        """``messages.batches.cancel``."""
        await self.generator.client().messages.batches.cancel(batch_id)


def _timestamp(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)
