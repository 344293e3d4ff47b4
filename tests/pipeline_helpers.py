"""Configs and prompt files for pipeline tests that run offline on fake backends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


def write_prompt_set(folder: Path, count: int, *, multi_turn_every: int = 0) -> Path:
    """A prompt set alternating in/out-of-distribution, optionally with some two-turn dialogues."""
    path = folder / "set.jsonl"
    lines = []
    for i in range(count):
        row: dict[str, Any] = {
            "id": f"p{i:03d}",
            "category": ["advice", "writing", "coding"][i % 3],
            "split": "in_distribution" if i % 2 == 0 else "out_of_distribution",
        }
        if multi_turn_every and i % multi_turn_every == 0:
            row["turns"] = [f"Question {i}?", f"Follow-up {i}?"]
        else:
            row["prompt"] = f"Question {i}: how long is a piece of string number {i}?"
        lines.append(json.dumps(row))
    path.write_text("\n".join(lines) + "\n")
    return path


def write_run_config(folder: Path, **fields: Any) -> Path:
    """A run config with two fake systems and fake pairwise + grade judges; fields override."""
    config: dict[str, Any] = {
        "name": "fake-run",
        "prompts": "set.jsonl",
        "output_dir": str(folder / "reports"),
        "systems": [
            {"name": "short", "model": "fake/constant", "options": {"text": "Yes."}},
            {"name": "echo", "model": "fake/echo"},
        ],
        "baseline": "short",
        "judges": [
            {"judge": "lima-pairwise", "model": "fake/script", "options": {"responses": ["A"]}},
            {"judge": "lima-grade", "model": "fake/script", "options": {"responses": ["pass"]}},
        ],
    }
    config.update(fields)
    path = folder / "exp.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
