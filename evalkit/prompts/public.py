"""Public prompt sets by name, fetched from the Hugging Face Hub at a pinned revision.

``alpaca_eval``, ``mt_bench``, ``vicuna``, ``lima`` and ``arena_hard`` name the published
benchmark prompts. On first use the file is downloaded with ``huggingface_hub`` (the
``hub`` extra) at the revision pinned here and kept in the Hub's own cache, so later runs
read it from disk. A file placed at :func:`local_path` (under ``$EVALKIT_PUBLIC_DIR``, by
default ``$XDG_CACHE_HOME/evalkit/public``) is used instead, without any network: that is
both the offline route and the way to load a local copy.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from evalkit.errors import ConfigError, MissingDependencyError
from evalkit.prompts.importers import PromptFormat

PUBLIC_DIR_ENV = "EVALKIT_PUBLIC_DIR"
HUB_EXTRA = "hub"


@dataclass(frozen=True)
class PublicSet:
    """Where one public prompt set lives and how to read it.

    Attributes:
        name: The name used in configs and ``load_prompt_set``.
        title: What the set is, in a few words.
        repo_id: The Hub repository holding the file.
        repo_type: "dataset" or "space".
        revision: The pinned commit (a branch name only where no commit could be verified).
        filename: The file's path inside the repository.
        format: How the file's entries map onto prompts.
        subset: (metadata field, value) keeping only matching prompts, or None for all.
        count: How many prompts the published set has.

    """

    name: str
    title: str
    repo_id: str
    repo_type: Literal["dataset", "space"]
    revision: str
    filename: str
    format: PromptFormat
    subset: tuple[str, str] | None
    count: int

    @property
    def url(self) -> str:
        """The file's download address at the pinned revision."""
        kind = "datasets/" if self.repo_type == "dataset" else "spaces/"
        return f"https://huggingface.co/{kind}{self.repo_id}/resolve/{self.revision}/{self.filename}"

    @property
    def version(self) -> str:
        """The set's version as recorded in runs: repository and revision."""
        return f"{self.repo_id}@{self.revision}"


PUBLIC_SETS: Mapping[str, PublicSet] = {
    s.name: s
    for s in (
        PublicSet(
            "alpaca_eval", "AlpacaEval's 805 instructions", "tatsu-lab/alpaca_eval", "dataset",
            "4c70e0d7945730c851d7e43959a080663886c68e", "alpaca_eval.json", "alpaca_eval", None, 805,
        ),
        PublicSet(
            "mt_bench", "MT-Bench's 80 two-turn questions with references", "lmsys/mt-bench", "space",
            "0849e64fb1d840f152573bdd741743e9714eeb0c", "data/mt_bench/question.jsonl", "mt_bench", None, 80,
        ),
        PublicSet(
            "vicuna", "the 80 Vicuna-bench questions", "SaylorTwift/mt-bench-viz", "space",
            "main", "data/vicuna_bench/question.jsonl", "mt_bench", None, 80,
        ),
        PublicSet(
            "lima", "LIMA's 300 test prompts, as collected by just-eval", "re-align/just-eval-instruct",
            "dataset", "acc28c24c56a52324ddc22b3e9eec072c37bdf99", "test_all_with_tags.jsonl", "just_eval",
            ("dataset", "lima"), 300,
        ),
        PublicSet(
            "arena_hard", "Arena-Hard-Auto v2.0 questions", "lmarena-ai/arena-hard-auto", "dataset",
            "main", "data/arena-hard-v2.0/question.jsonl", "arena_hard", None, 750,
        ),
    )
}  # fmt: skip


def public_dir() -> Path:
    """The folder searched for local copies: ``$EVALKIT_PUBLIC_DIR`` or the user cache's evalkit/public."""
    configured = os.environ.get(PUBLIC_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "evalkit" / "public"


def local_path(public: PublicSet) -> Path:
    """Where a local copy of the set's file is looked for (and where to put one to work offline)."""
    return public_dir() / public.name / PurePosixPath(public.filename).name


def fetch(public: PublicSet) -> Path:
    """The set's file on disk: the local copy if present, else the Hub download (cached).

    Raises:
        MissingDependencyError: No local copy and huggingface_hub is not installed.
        ConfigError: No local copy and the Hub cannot be reached or refuses the file; the
            message says which file to put where to work offline.

    """
    local = local_path(public)
    if local.is_file():
        return local
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as exc:
        raise MissingDependencyError(
            "huggingface_hub",
            HUB_EXTRA,
            f"Downloading prompt set {public.name!r} (or download {public.url} and put it at {local})",
        ) from exc
    try:
        found = hf_hub_download(
            repo_id=public.repo_id,
            filename=public.filename,
            repo_type=public.repo_type,
            revision=public.revision,
        )
    except OSError as exc:  # the Hub client's errors (offline mode, no network, HTTP status) are OSErrors
        raise _unreachable(public, exc) from exc
    return Path(found)


def _unreachable(public: PublicSet, exc: Exception) -> ConfigError:
    reason = " ".join(str(exc).split()).split(". ")[0][:200] or type(exc).__name__
    return ConfigError(
        f"prompt set {public.name!r} ({public.title}) could not be fetched from the Hugging Face Hub "
        f"({type(exc).__name__}: {reason}). To use it offline, download {public.url} and put it at "
        f"{local_path(public)} (or set {PUBLIC_DIR_ENV} to a folder holding {public.name}/"
        f"{PurePosixPath(public.filename).name})"
    )
