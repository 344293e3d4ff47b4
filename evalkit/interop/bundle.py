"""What an import collects, and how it becomes an ordinary run folder.

Imported verdicts are ordinary Judgment / Grade records with ``source="import:<judge>"`` and
a JudgeProvenance naming the judge, so statistics and reports treat them like any other.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evalkit.errors import ConfigError
from evalkit.records import Grade, JudgeProvenance, Judgment, Prompt, Response
from evalkit.runner.meta import ResolvedJudge, RunMeta, RunRecords
from evalkit.runner.rundir import RUN_FILE, RunDir

IMPORT_PREFIX = "import:"


def import_source(judge: str) -> str:
    """The ``source`` of records imported from the judge named ``judge``."""
    return f"{IMPORT_PREFIX}{judge}"


def provenance(judge: str, model: str = "", **params: Any) -> JudgeProvenance:
    """Provenance of an imported verdict: the judge's name, its model when known, format details."""
    return JudgeProvenance(judge=judge, model_spec=model, model_id=model, params=params)


@dataclass
class Imported:
    """Records gathered from a set of peer files, before they are written to a run folder.

    Prompts and responses are kept once per key (the first file that gives them wins), so the
    same answer found in a model-outputs file and in an annotations file is stored once.
    """

    prompts: dict[str, Prompt] = field(default_factory=dict)
    responses: dict[tuple[str, str, int], Response] = field(default_factory=dict)
    judgments: list[Judgment] = field(default_factory=list)
    grades: list[Grade] = field(default_factory=list)
    systems: dict[str, str] = field(default_factory=dict)
    baselines: Counter[tuple[str, str]] = field(default_factory=Counter)
    """How often each (source, baseline) pair was seen, where the format names a baseline."""
    extra: dict[str, Any] = field(default_factory=dict)
    conflicts: Counter[str] = field(default_factory=Counter)
    baseline_hint: str | None = None
    """The baseline to assume where a file does not name it (Arena-Hard v0.1 judgments)."""
    judge_hint: str | None = None
    """The judge to name where a file does not (just-eval scores)."""

    def add_prompt(self, prompt: Prompt) -> None:
        """Keep a prompt unless one with its id is already there."""
        self.prompts.setdefault(prompt.id, prompt)

    def add_response(self, response: Response, model: str = "") -> None:
        """Keep a response unless one with its key is already there; register its system.

        A later file giving a different text for the same key is counted per system in
        ``conflicts`` (written to run.json), and the first text is kept.
        """
        kept = self.responses.setdefault(response.key, response)
        if kept.outputs != response.outputs:
            self.conflicts[response.system] += 1
        self.systems.setdefault(response.system, model or response.model_id or response.system)

    def add_system(self, name: str, model: str = "") -> None:
        """Register a system that appears in verdicts even without responses."""
        self.systems.setdefault(name, model or name)

    def judges(self) -> list[dict[str, str]]:
        """One entry per verdict source: judge name, model, source and kind."""
        found: dict[tuple[str, str], dict[str, str]] = {}
        for kind, records in (("pairwise", self.judgments), ("grade", self.grades)):
            for record in records:
                prov = record.provenance
                found.setdefault(
                    (record.source, kind),
                    {
                        "judge": prov.judge if prov else record.source,
                        "model": prov.model_spec if prov else "",
                        "source": record.source,
                        "kind": kind,
                    },
                )
        return list(found.values())

    def baseline(self) -> str | None:
        """The system most verdicts compare against, when the format names one."""
        overall = Counter[str]()
        for (_, name), count in self.baselines.items():
            overall[name] += count
        return overall.most_common(1)[0][0] if overall else None

    def baselines_by_source(self) -> dict[str, str]:
        """Each verdict source's most common baseline."""
        found: dict[str, str] = {}
        for (source, name), _ in self.baselines.most_common():
            found.setdefault(source, name)
        return found


def write_run(imported: Imported, destination: Path, origin: str) -> RunDir:
    """Write imported records into a new run folder with a complete run.json.

    Raises:
        ConfigError: The folder already holds a run, or nothing was imported.

    """
    if (destination / RUN_FILE).exists():
        raise ConfigError(
            f"{destination} already holds a run; import into a new folder or delete that one first"
        )
    if not (imported.prompts or imported.responses or imported.judgments or imported.grades):
        raise ConfigError("the files given hold no prompts, responses or verdicts; nothing was imported")
    run_dir = RunDir(destination)
    run_dir.store("prompts").rewrite(list(imported.prompts.values()))
    run_dir.store("responses").rewrite(list(imported.responses.values()))
    run_dir.store("judgments").rewrite(imported.judgments)
    run_dir.store("grades").rewrite(imported.grades)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    run_dir.write_meta(
        RunMeta(
            name=destination.name,
            prompt_set="imported",
            judges=tuple(ResolvedJudge(**judge) for judge in imported.judges()),
            system_models=dict(sorted(imported.systems.items())),
            baseline=imported.baseline(),
            status="complete",
            origin=origin,
            started_at=now,
            finished_at=now,
            imported={
                **imported.extra,
                "baselines": imported.baselines_by_source(),
                "conflicting_responses": dict(imported.conflicts),
            },
        )
    )
    return run_dir


def load_records(run_path: Path) -> tuple[RunRecords, RunMeta]:
    """A run folder's records and run.json, for export."""
    run_dir = RunDir(run_path, create=False)
    return run_dir.load_records(), run_dir.read_meta()
