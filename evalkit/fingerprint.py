"""Fingerprints: short, stable digests of what produced a record.

A record's fingerprint covers everything that determines it: for a response, the system
definition (backend identity, template, sampling parameters), the prompt's turns, the
sample and the run seed; for a verdict or grade, the judge definition (rendered template
hash, parameters, backend identity), the prompt's content and the fingerprints of the
responses it read. A re-run compares fingerprints and redoes what no longer matches, and
the loader keeps records whose fingerprint is stale out of every statistic. Records
written before fingerprints existed carry an empty one and are trusted as they are.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from evalkit.records import Prompt

_SECRET_NAME = re.compile(r"(key|token|secret|password|passwd|auth|credential|signature|sig)$", re.I)
HUMAN_JUDGE = "human"
"""The judge part of a human label's fingerprint: people have no template or parameters."""


def digest(value: Any) -> str:
    """sha256 (first 16 hex digits) of a JSON-serialisable value in canonical form."""
    blob = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def without_secrets(options: Mapping[str, Any]) -> dict[str, Any]:
    """Options with credential-like entries left out: they never change what a model says."""
    return {k: v for k, v in options.items() if not _SECRET_NAME.search(k.replace("-", "_"))}


def prompt_turns_fingerprint(prompt: Prompt) -> str:
    """What a system answers: the prompt's turns."""
    return digest(list(prompt.turns))


def prompt_content_fingerprint(prompt: Prompt) -> str:
    """What a judge reads of the prompt: its turns and reference answers."""
    return digest({"turns": list(prompt.turns), "reference": prompt.reference})


def response_fingerprint(system_fingerprint: str, prompt: Prompt, sample: int, run_seed: int) -> str:
    """The fingerprint a response of this system to this prompt must carry."""
    return digest([system_fingerprint, prompt_turns_fingerprint(prompt), sample, run_seed])


def verdict_fingerprint(judge_fingerprint: str, prompt: Prompt, responses: Sequence[str]) -> str:
    """The fingerprint a verdict or grade must carry, given the responses it read (in canonical order)."""
    return digest([judge_fingerprint, prompt_content_fingerprint(prompt), list(responses)])
