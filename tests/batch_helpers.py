"""Configs for batch-job tests: an API model behind the loopback batch stand-in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.pipeline_helpers import write_prompt_set, write_run_config

BATCH_OPTIONS = {"batch": True, "batch_poll_s": 0.05}


def batch_config(
    folder: Path,
    url: str,
    *,
    prompts: int = 8,
    provider: str = "openai",
    batched: bool = True,
    name: str = "batch-run",
    **extra: Any,
) -> Path:
    """Two systems (one fake, one API with two-turn dialogues) judged pairwise by the API model.

    ``extra`` options go to the API model; ``batched=False`` gives the same run online.
    """
    folder.mkdir(parents=True, exist_ok=True)
    write_prompt_set(folder, prompts, multi_turn_every=4)
    model = "openai/gpt-4o-mini" if provider == "openai" else "anthropic/claude-haiku-4-5"
    options = {"base_url": url, **(BATCH_OPTIONS if batched else {}), **extra}
    return write_run_config(
        folder,
        name=name,
        systems=[
            {"name": "short", "model": "fake/constant", "options": {"text": "Yes."}},
            {"name": "api", "model": model, "template": "chat-plain", "options": options},
        ],
        judges=[{"judge": "lima-pairwise", "model": model, "options": options}],
    )
