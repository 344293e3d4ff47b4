"""Join several run folders into one comparison: one leaderboard over the systems of all of them.

Systems from different runs are compared through what they were judged against: a shared
baseline, or each other. Only prompts that every system answered are kept, so that every
rate is over the same prompts; the prompts dropped, and why, are recorded in run.json and
shown in the report's header.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from evalkit.errors import ConfigError
from evalkit.interop.bundle import Imported, write_run
from evalkit.records import Prompt, Response
from evalkit.runner.meta import RunMeta
from evalkit.runner.rundir import RunDir


@dataclass
class Joined:
    """The records of several runs, joined, and what was dropped to keep prompts common."""

    imported: Imported = field(default_factory=Imported)
    owners: dict[str, str] = field(default_factory=dict)
    dropped: Counter[str] = field(default_factory=Counter)


def _add_prompt(joined: Joined, prompt: Prompt, run: str) -> None:
    kept = joined.imported.prompts.get(prompt.id)
    if kept is not None and kept.turns != prompt.turns:
        raise ConfigError(
            f"prompt {prompt.id!r} differs between {joined.owners[prompt.id]} and {run}; "
            "compare runs made on the same prompt set"
        )
    joined.owners.setdefault(prompt.id, run)
    joined.imported.add_prompt(prompt)


def _add_response(joined: Joined, response: Response, run: str) -> None:
    kept = joined.imported.responses.get(response.key)
    if kept is not None and kept.outputs != response.outputs:
        raise ConfigError(
            f"system {response.system!r} answered prompt {response.prompt_id!r} differently in "
            f"{joined.owners.get(response.system, 'an earlier run')} and {run}; rename the system in one run"
        )
    joined.owners.setdefault(response.system, run)
    joined.imported.add_response(response)


def _join(run_dirs: Sequence[Path]) -> tuple[Joined, list[RunMeta]]:
    joined = Joined()
    metas = []
    for path in run_dirs:
        run_dir = RunDir(path, create=False)
        records, meta = run_dir.load_records(), run_dir.read_meta()
        metas.append(meta)
        for prompt in records.prompts:
            _add_prompt(joined, prompt, str(path))
        for response in records.responses:
            if response.error is None:
                _add_response(joined, response, str(path))
        joined.imported.judgments += records.judgments
        joined.imported.grades += records.grades
        _dedupe(joined.imported)
        models = {s.name: s.model for s in meta.config.systems} if meta.config else meta.system_models
        joined.imported.systems.update(models)
    return joined, metas


def _dedupe(imported: Imported) -> None:
    """Keep the first verdict of each key: runs that share a comparison store it twice."""
    imported.judgments = list({j.key: j for j in reversed(imported.judgments)}.values())[::-1]
    imported.grades = list({g.key: g for g in reversed(imported.grades)}.values())[::-1]


def _keep_common(joined: Joined) -> set[str]:
    """Prompts every system answered; counts why the others were dropped."""
    imported = joined.imported
    answered: dict[str, set[str]] = {}
    for prompt_id, system, _ in imported.responses:
        answered.setdefault(system, set()).add(prompt_id)
    common = set(imported.prompts)
    for system, prompts in answered.items():
        missing = len(common - prompts)
        if missing:
            joined.dropped[f"not answered by {system}"] += missing
        common &= prompts
    imported.prompts = {k: v for k, v in imported.prompts.items() if k in common}
    imported.responses = {k: v for k, v in imported.responses.items() if k[0] in common}
    imported.judgments = [j for j in imported.judgments if j.prompt_id in common]
    imported.grades = [g for g in imported.grades if g.prompt_id in common]
    return common


def compare_runs(
    run_dirs: Sequence[str | Path], out: str | Path, *, baseline: str | None = None, report: bool = True
) -> Path:
    """Join runs into a new run folder ``out`` (and its report) over the prompts all systems answered.

    Args:
        run_dirs: Run folders (from ``evalkit run`` or ``evalkit import``), at least two.
        out: The folder to create.
        baseline: The shared baseline to report against (default: the first run's baseline).
        report: Write ``out/report.html``.

    Returns:
        The new run folder.

    Raises:
        ConfigError: Fewer than two runs, a prompt or an answer that differs between runs,
            or no prompt common to all systems.

    """
    paths = [Path(p) for p in run_dirs]
    if len(paths) < 2:
        raise ConfigError("compare needs at least two run folders")
    joined, metas = _join(paths)
    total = len(joined.imported.prompts)
    common = _keep_common(joined)
    if not common:
        reasons = ", ".join(f"{n} {why}" for why, n in joined.dropped.most_common())
        raise ConfigError(f"no prompt was answered by every system ({reasons}); nothing to compare")
    chosen = baseline or next(
        (m.baseline or (m.config.baseline if m.config else None) for m in metas if m.baseline or m.config),
        None,
    )
    if chosen:
        joined.imported.baselines[("", chosen)] += 1
    joined.imported.extra = {
        "compared_runs": [str(p) for p in paths],
        "dropped_prompts": dict(joined.dropped),
    }
    origin = f"evalkit compare {' '.join(map(str, paths))} -o {out}"
    run_dir = write_run(joined.imported, Path(out), origin)
    dropped = total - len(common)
    note = f"{len(common)} prompts common to all systems ({dropped} of {total} dropped"
    why = "; ".join(f"{n} {reason}" for reason, n in joined.dropped.most_common())
    run_dir.update_meta(prompt_set=note + (f": {why})" if why else ")"))
    if report:
        from evalkit.api import load_run  # the report stack is heavy; only load it here

        load_run(run_dir.path).report()
    return run_dir.path
