"""Run folders for the labeling app's tests: fake systems with names no page may show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pipeline_helpers import write_prompt_set, write_run_config

from evalkit.api import run_sync
from evalkit.runner.config import load_config
from evalkit.runner.pipeline import Pipeline

SECRET_SYSTEMS = ("zanzibar-candidate", "quokka-baseline")
SECRET_MODELS = ("fake/constant", "fake/echo")
HOSTILE = (
    "<script>document.title='PWNED'</script><img src=x onerror=\"document.body.dataset.pwned=1\">"
    "</textarea><b onmouseover=alert(1)>bold</b> \u202eevil-rtl\u202c zero\u200bwidth\u200d "
)


def make_run(folder: Path, prompts: int = 12, *, multi_turn_every: int = 0, hostile: bool = False) -> Path:
    """A finished fake run: two systems, one judge that always answers A; returns the run folder."""
    write_prompt_set(folder, prompts, multi_turn_every=multi_turn_every)
    constant = HOSTILE + "x" * 1_000_000 if hostile else "Yes, certainly."
    config = write_run_config(
        folder,
        systems=[
            {"name": SECRET_SYSTEMS[0], "model": SECRET_MODELS[0], "options": {"text": constant}},
            {"name": SECRET_SYSTEMS[1], "model": SECRET_MODELS[1]},
        ],
        baseline=SECRET_SYSTEMS[1],
        judges=[{"judge": "lima-pairwise", "model": "fake/script", "options": {"responses": ["A"]}}],
    )
    pipeline = Pipeline(load_config(config), show_progress=False)
    run_dir = run_sync(pipeline.execute())  # works beside Playwright's event loop too
    return run_dir.path


def write_campaign(folder: Path, **fields: Any) -> Path:
    """A campaign YAML file."""
    path = folder / "campaign.yaml"
    path.write_text(yaml.safe_dump(fields, sort_keys=False))
    return path


def jsonl(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSONL file."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


LOCAL_SYSTEM = "gemma-icl-hidden"


def make_local_run(folder: Path) -> Path:
    """A one-prompt run whose only system is the embedded model (for live dialogues)."""
    write_prompt_set(folder, 1)
    config = write_run_config(
        folder,
        systems=[
            {
                "name": LOCAL_SYSTEM,
                "model": "local/gemma-3-270m",
                "template": "icl-alignment",
                "params": {"temperature": 0.0, "max_tokens": 24, "repetition_penalty": 1.15},
            }
        ],
        baseline=None,
        judges=[],
    )
    pipeline = Pipeline(load_config(config), show_progress=False)
    return run_sync(pipeline.execute()).path
