"""Write a run as AlpacaEval's results tree, which AlpacaEval's own tools read back.

Layout (as in AlpacaEval's repository): ``results/<model>/model_outputs.json``,
``results/<model>/<annotator>/annotations.json`` and ``leaderboards/<annotator>_leaderboard.csv``.
An annotator is a verdict source; the baseline of each row is the comparison's model_b.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evalkit.interop.bundle import IMPORT_PREFIX
from evalkit.interop.files import write_json_list
from evalkit.records import Judgment, Prompt, Response
from evalkit.runner.meta import RunRecords
from evalkit.stats.alpaca_eval import AlpacaEvalRow, verdict_score
from evalkit.stats.pairwise import Verdict, reconcile

LEADERBOARD_COLUMNS = (
    "win_rate",
    "standard_error",
    "n_wins",
    "n_wins_base",
    "n_draws",
    "n_total",
    "discrete_win_rate",
    "mode",
    "avg_length",
    "length_controlled_winrate",
    "lc_standard_error",
)


def annotator_name(source: str) -> str:
    """A verdict source as an AlpacaEval annotator name (safe as a folder name)."""
    name = source.removeprefix(IMPORT_PREFIX)
    return name.replace("/", "_").replace(":", "_")


def write(
    records: RunRecords, rows: Sequence[AlpacaEvalRow], out: Path, modes: dict[str, str] | None = None
) -> list[Path]:
    """Write outputs, annotations and leaderboards under ``out``; return the files written."""
    prompts = {p.id: p for p in records.prompts}
    written = [_write_outputs(out, system, prompts, group) for system, group in _by_system(records).items()]
    verdicts = reconcile(records.judgments)
    labels = _single_labels(records.judgments)
    texts = {r.key: r.text for r in records.responses}
    cells: dict[tuple[str, str], list[Verdict]] = {}
    for verdict in verdicts:
        cells.setdefault((verdict.source, verdict.model_a), []).append(verdict)
    for (source, model), cell in cells.items():
        annotator = annotator_name(source)
        annotations = [
            _annotation(v, prompts, texts, labels, annotator) for v in cell if v.prompt_id in prompts
        ]
        path = out / "results" / model / annotator / "annotations.json"
        written.append(write_json_list(path, annotations))
    written += _write_leaderboards(out, rows, modes or {})
    return written


def _by_system(records: RunRecords) -> dict[str, list[Response]]:
    groups: dict[str, list[Response]] = {}
    for response in records.responses:
        if response.error is None and response.sample == 0:
            groups.setdefault(response.system, []).append(response)
    return groups


def _instruction(prompt: Prompt) -> str:
    return prompt.turns[0]


def _dataset(prompt: Prompt) -> str:
    return str(prompt.metadata.get("dataset", prompt.category))


def _write_outputs(out: Path, system: str, prompts: dict[str, Prompt], responses: list[Response]) -> Path:
    rows = [
        {
            "dataset": _dataset(prompts[r.prompt_id]),
            "instruction": _instruction(prompts[r.prompt_id]),
            "output": r.text,
            "generator": system,
        }
        for r in responses
        if r.prompt_id in prompts
    ]
    return write_json_list(out / "results" / system / "model_outputs.json", rows)


def _single_labels(judgments: Sequence[Judgment]) -> dict[tuple[str, str, str, str], Any]:
    """Imported single-order verdicts keep their AlpacaEval preference verbatim (its label)."""
    labels: dict[tuple[str, str, str, str], Any] = {}
    for j in judgments:
        if j.label is not None and j.sample == 0:
            try:
                labels[(j.prompt_id, j.model_a, j.model_b, j.source)] = json.loads(j.label)
            except json.JSONDecodeError:
                continue
    return labels


def _preference(verdict: Verdict, labels: dict[tuple[str, str, str, str], Any]) -> Any:
    label = labels.get((verdict.prompt_id, verdict.model_a, verdict.model_b, verdict.source))
    if verdict.orders <= 1 and label is not None:
        return label  # an imported preference, verbatim
    if verdict.outcome is None:
        return None
    return 1.0 + verdict_score(verdict)


def _annotation(
    verdict: Verdict,
    prompts: dict[str, Prompt],
    texts: dict[tuple[str, str, int], str],
    labels: dict[tuple[str, str, str, str], Any],
    annotator: str,
) -> dict[str, Any]:
    prompt = prompts[verdict.prompt_id]
    return {
        "instruction": _instruction(prompt),
        "output_1": texts.get((verdict.prompt_id, verdict.model_b, verdict.response_sample), ""),
        "generator_1": verdict.model_b,
        "dataset": _dataset(prompt),
        "output_2": texts.get((verdict.prompt_id, verdict.model_a, verdict.response_sample), ""),
        "generator_2": verdict.model_a,
        "annotator": annotator,
        "preference": _preference(verdict, labels),
    }


def leaderboard_csv(rows: Sequence[AlpacaEvalRow], modes: dict[str, str] | None = None) -> str:
    """AlpacaEval's leaderboard CSV (unnamed first column = model), best win rate first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["", *LEADERBOARD_COLUMNS])
    for row in sorted(rows, key=lambda r: -r.win_rate if not math.isnan(r.win_rate) else math.inf):
        values = {**{c: getattr(row, c, "") for c in LEADERBOARD_COLUMNS if c != "mode"}}
        values["mode"] = (modes or {}).get(row.model, "")
        writer.writerow([row.model, *(_cell(values[c]) for c in LEADERBOARD_COLUMNS)])
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if isinstance(value, float) and math.isnan(value):
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def _write_leaderboards(out: Path, rows: Sequence[AlpacaEvalRow], modes: dict[str, str]) -> list[Path]:
    by_source: dict[str, list[AlpacaEvalRow]] = {}
    for row in rows:
        by_source.setdefault(row.source, []).append(row)
    written = []
    for source, group in by_source.items():
        path = out / "leaderboards" / f"{annotator_name(source)}_leaderboard.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(leaderboard_csv(group, modes), encoding="utf-8")
        written.append(path)
    return written
