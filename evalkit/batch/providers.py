"""The providers' batch endpoints behind one small interface, and OpenAI's implementation.

A provider writes one request line per request, submits a finished request file with
metadata that identifies it, finds a batch again by that metadata, reports its state,
downloads its results to disk (streamed, never held whole), and reads one result line
into a Completion with the same parsing code as the online path.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.generators.api.base import ApiGenerator
from evalkit.generators.api.openai_wire import chat_arguments, parse_chat
from evalkit.generators.base import Completion, CompletionRequest

MiB = 1 << 20
OPENAI_ENDPOINT = "/v1/chat/completions"
LIST_PAGE = 100


@dataclass(frozen=True)
class RemoteState:
    """A batch as the provider reports it.

    Attributes:
        status: The provider's own word ("in_progress", "completed", "expired", "ended", ...).
        counts: Request counts under the provider's names.
        ended: True once nothing about the batch changes any more.

    """

    status: str
    counts: dict[str, int] = field(default_factory=dict)
    ended: bool = False


@dataclass(frozen=True)
class ResultLine:
    """One line of a batch's results: its custom id, whether it succeeded, and the text to keep."""

    custom_id: str
    ok: bool
    text: str


class BatchProvider(ABC):
    """One provider's batch API, used through an online generator's SDK client.

    Attributes:
        name: "openai" or "anthropic".
        max_requests: Requests per batch the provider accepts.
        max_bytes: Bytes per batch the provider accepts.

    """

    name: str
    max_requests: int
    max_bytes: int

    def __init__(self, generator: ApiGenerator) -> None:
        self.generator = generator

    @abstractmethod
    def request_line(self, custom_id: str, request: CompletionRequest) -> bytes:
        """The request as one JSONL line (with its newline) of a request file."""

    @abstractmethod
    async def submit(self, path: Path, metadata: Mapping[str, str]) -> str:
        """Submit a request file; returns the batch id."""

    @abstractmethod
    async def find(
        self, metadata: Mapping[str, str], requests: int, after: float, claimed: frozenset[str]
    ) -> str | None:
        """The id of a batch submitted with this metadata, if any.

        Providers without metadata match by size and time among batches created since
        ``after`` and not in ``claimed``.
        """

    @abstractmethod
    async def state(self, batch_id: str) -> RemoteState:
        """The batch's current state and counts."""

    @abstractmethod
    async def download(self, batch_id: str, destination: Path) -> None:
        """Stream the batch's result (and error) lines into ``destination``."""

    @abstractmethod
    def read_result(self, line: bytes) -> ResultLine:
        """Read one downloaded line."""

    @abstractmethod
    def completion(self, text: str, request: CompletionRequest) -> Completion:
        """The Completion of a stored successful result line."""

    async def cancel(self, batch_id: str) -> None:  # noqa: B027 - optional
        """Ask the provider to stop a batch."""


async def stream_to(response: Any, handle: Any) -> None:
    """Copy a streamed SDK response into an open binary file, chunk by chunk."""
    async for chunk in response.iter_bytes():
        handle.write(chunk)


class OpenAIBatches(BatchProvider):
    """The OpenAI Batch API: upload a JSONL file, create a batch on it, read output and error files."""

    name = "openai"
    max_requests = 50_000
    max_bytes = 200 * MiB

    def request_line(self, custom_id: str, request: CompletionRequest) -> bytes:
        """A ``/v1/chat/completions`` line with the same body the online call would send."""
        generator: Any = self.generator
        body = chat_arguments(generator.model_name(), request, generator.max_tokens_param)
        body.update(generator._extra_body(request))
        line = {"custom_id": custom_id, "method": "POST", "url": OPENAI_ENDPOINT, "body": body}
        return (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")

    async def submit(self, path: Path, metadata: Mapping[str, str]) -> str:
        """Upload the file (streamed from disk) and create a batch on it with ``metadata``."""
        client = self.generator.client()
        with path.open("rb") as handle:
            uploaded = await client.files.create(file=(path.name, handle), purpose="batch")
        batch = await client.batches.create(
            input_file_id=uploaded.id,
            endpoint=OPENAI_ENDPOINT,
            completion_window="24h",
            metadata=dict(metadata),
        )
        return str(batch.id)

    async def find(
        self, metadata: Mapping[str, str], requests: int, after: float, claimed: frozenset[str]
    ) -> str | None:
        """Page through batches created since ``after`` for one whose metadata matches."""
        client = self.generator.client()
        async for batch in client.batches.list(limit=LIST_PAGE):
            if batch.created_at < after - 3600:  # newest first: nothing older can be ours
                return None
            found = batch.metadata or {}
            if all(found.get(k) == v for k, v in metadata.items()):
                return str(batch.id)
        return None

    async def state(self, batch_id: str) -> RemoteState:
        """Status and counts from ``batches.retrieve``."""
        batch = await self.generator.client().batches.retrieve(batch_id)
        counts = batch.request_counts
        found = {} if counts is None else {"completed": counts.completed, "failed": counts.failed}
        ended = batch.status in {"completed", "expired", "cancelled", "failed"}
        return RemoteState(batch.status, found, ended)

    async def download(self, batch_id: str, destination: Path) -> None:
        """Stream the output file, then the error file, into ``destination``."""
        client = self.generator.client()
        batch = await client.batches.retrieve(batch_id)
        with destination.open("wb") as handle:
            for file_id in (batch.output_file_id, batch.error_file_id):
                if file_id:
                    async with client.files.with_streaming_response.content(file_id) as response:
                        await stream_to(response, handle)

    def read_result(self, line: bytes) -> ResultLine:
        """A 200 response is a success; anything else (an error, an expired request) a failure."""
        entry = json.loads(line)
        response = entry.get("response") or {}
        if response.get("status_code") == 200:
            return ResultLine(entry["custom_id"], True, line.decode("utf-8").rstrip("\n"))
        error = entry.get("error") or (response.get("body") or {}).get("error") or {}
        status = response.get("status_code")
        detail = error.get("message") or error.get("code") or "no detail"
        prefix = f"HTTP {status}: " if status else f"{error.get('code', 'error')}: "
        return ResultLine(entry["custom_id"], False, prefix + str(detail))

    def completion(self, text: str, request: CompletionRequest) -> Completion:
        """Parse the stored line's body as the online path parses a chat completion."""
        generator: Any = self.generator
        body = json.loads(text)["response"]["body"]
        parsed = generator.sdk.types.chat.ChatCompletion.model_validate(body)
        return parse_chat(parsed, generator.model_name(), request)

    async def cancel(self, batch_id: str) -> None:
        """``batches.cancel``."""
        await self.generator.client().batches.cancel(batch_id)


def read_lines(path: Path) -> Iterator[bytes]:
    """The non-empty lines of a downloaded results file, streamed."""
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                yield line
