"""AlpacaEval files: model_outputs.json, annotations.json and leaderboard CSVs, in and out.

Preferences in annotations are AlpacaEval's numbers: 2 = ``generator_2`` (the candidate)
better, 1 = ``generator_1`` (the baseline) better, 1.5 or 0 = a draw, null = the annotator
failed; continuous values in [1, 2] (a logprob-weighted annotator) are the probability that
the candidate is better, plus one. They become canonical verdicts: model_a = candidate,
model_b = baseline, the number kept verbatim as the judgment's ``label``. A file holding any
value other than 0, 1 and 2 (a continuous preference, or 1.5, which only weighted annotators
write) also gives every verdict probabilities {a: p - 1, b: 2 - p} (0 gives {tie: 1}).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evalkit.interop.bundle import Imported, import_source, provenance
from evalkit.interop.files import Entry, read_csv, read_json_list
from evalkit.prompts.importers import alpaca_eval_prompt_id
from evalkit.records import Judgment, Outcome, Prompt, Response

FORMAT = "alpaca_eval"
HARD_VALUES = frozenset({0.0, 1.0, 2.0})


def read(paths: Sequence[Path], imported: Imported) -> None:
    """Add every AlpacaEval file's records to ``imported`` (kind chosen from each file's fields).

    Annotations are read before model outputs: where an outputs file holds a different text
    for an answer that was annotated (AlpacaEval 1's text_davinci_003 baseline was later
    regenerated), the text the annotator judged is kept and the difference counted.
    """
    annotations, outputs = [], []
    for path in paths:
        if path.suffix.lower() == ".csv":
            _read_leaderboard(path, imported)
            continue
        entries = read_json_list(path)
        if entries and "generator_1" in entries[0].data:
            annotations.append(entries)
        elif entries and "generator" in entries[0].data:
            outputs.append(entries)
        elif entries:
            raise entries[0].fail(
                "generator", "missing", "pass model_outputs.json, annotations.json or a leaderboard CSV"
            )
    for entries in annotations:
        _read_annotations(entries, imported)
    for entry in (entry for entries in outputs for entry in entries):
        _read_output(entry, imported)


def _prompt(entry: Entry) -> Prompt:
    instruction = entry.text("instruction")
    dataset = entry.data.get("dataset") or "uncategorized"
    return Prompt(
        id=alpaca_eval_prompt_id(instruction),
        turns=(instruction,),
        category=str(dataset),
        metadata={"source": FORMAT, "dataset": str(dataset)},
    )


def _read_output(entry: Entry, imported: Imported) -> None:
    prompt = _prompt(entry)
    imported.add_prompt(prompt)
    system = entry.text("generator")
    response = Response(prompt_id=prompt.id, system=system, outputs=(entry.text("output"),), model_id=system)
    imported.add_response(response)


def _preference(entry: Entry) -> float | None:
    value = entry.data.get("preference", None)
    if "preference" not in entry.data:
        raise entry.fail("preference", "missing")
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise entry.fail("preference", f"{value!r} is not a number") from exc
    if isinstance(value, bool) or not (number == 0 or 1 <= number <= 2):
        raise entry.fail("preference", f"{value!r} is outside AlpacaEval's values (0, or 1 to 2, or null)")
    return number


def _outcome(preference: float | None) -> Outcome | None:
    if preference is None:
        return None
    if preference in (0.0, 1.5):
        return "tie"
    return "a" if preference > 1.5 else "b"


def _probabilities(preference: float | None) -> dict[Outcome, float] | None:
    if preference is None:
        return None
    if preference == 0:
        return {"a": 0.0, "b": 0.0, "tie": 1.0}
    return {"a": preference - 1.0, "b": 2.0 - preference, "tie": 0.0}


def _read_annotations(entries: Sequence[Entry], imported: Imported) -> None:
    preferences = [_preference(entry) for entry in entries]
    weighted = any(p is not None and p not in HARD_VALUES for p in preferences)
    for entry, preference in zip(entries, preferences, strict=True):
        prompt = _prompt(entry)
        imported.add_prompt(prompt)
        baseline, candidate = entry.text("generator_1"), entry.text("generator_2")
        for system, field in ((baseline, "output_1"), (candidate, "output_2")):
            imported.add_response(Response(prompt_id=prompt.id, system=system, outputs=(entry.text(field),)))
        annotator = str(entry.data.get("annotator") or entry.path.parent.name)
        imported.baselines[(import_source(annotator), baseline)] += 1
        imported.judgments.append(
            Judgment(
                prompt_id=prompt.id,
                model_a=candidate,
                model_b=baseline,
                order="ba",  # output_1 (the baseline) is the first output in the file
                source=import_source(annotator),
                outcome=_outcome(preference),
                probabilities=_probabilities(preference) if weighted else None,
                label=json.dumps(entry.data["preference"]),
                raw=_raw_completion(entry),
                error=None if preference is not None else "the annotator gave no preference",
                provenance=provenance(annotator, format=FORMAT),
            )
        )


def _raw_completion(entry: Entry) -> str:
    raw = entry.data.get("raw_completion")
    if raw is None:
        return ""
    return raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)


LEADERBOARD_NUMBERS = (
    "win_rate",
    "standard_error",
    "n_wins",
    "n_wins_base",
    "n_draws",
    "n_total",
    "discrete_win_rate",
    "avg_length",
    "length_controlled_winrate",
    "lc_standard_error",
)


def _read_leaderboard(path: Path, imported: Imported) -> None:
    """Published leaderboards are kept in run.json (under "imported") to compare against."""
    rows: dict[str, dict[str, Any]] = {}
    for entry in read_csv(path):
        name = entry.data.get("") or entry.data.get("name")
        if not name:
            raise entry.fail("name", "missing (the first, unnamed column holds the model name)")
        rows[str(name)] = {key: _number(entry, key) for key in LEADERBOARD_NUMBERS if entry.data.get(key)}
        rows[str(name)]["mode"] = entry.data.get("mode") or ""
    annotator = path.stem.removesuffix("_leaderboard")
    imported.extra.setdefault("leaderboards", {})[annotator] = rows


def _number(entry: Entry, key: str) -> float:
    try:
        value = float(entry.data[key])
    except ValueError as exc:
        raise entry.fail(key, f"{entry.data[key]!r} is not a number") from exc
    if math.isnan(value):
        raise entry.fail(key, "is NaN; leave the cell empty instead")
    return value
