"""What changed since a run folder's last execution, in words, for the closing summary."""

from __future__ import annotations

from collections.abc import Sequence

from evalkit.fingerprint import prompt_content_fingerprint
from evalkit.records import Prompt
from evalkit.runner.meta import RunMeta


def describe_changes(
    previous: RunMeta, current: RunMeta, old_prompts: Sequence[Prompt], new_prompts: Sequence[Prompt]
) -> list[str]:
    """One line per kind of change that makes stored records stale (empty for a first run)."""
    if previous.config is None and not previous.system_fingerprints:
        return []
    lines = []
    systems = _changed(previous.system_fingerprints, current.system_fingerprints)
    if systems:
        lines.append(f"systems changed (model, template or parameters): {', '.join(systems)}")
    old_judges = {j.source: j.fingerprint for j in previous.judges}
    judges = _changed(old_judges, {j.source: j.fingerprint for j in current.judges})
    if judges:
        lines.append(f"judges changed (definition, template, parameters or model): {', '.join(judges)}")
    removed = [
        *sorted(set(previous.system_fingerprints) - set(current.system_fingerprints)),
        *sorted(set(old_judges) - {j.source for j in current.judges}),
        *(f"{a} vs {b}" for a, b in sorted(set(previous.comparisons) - set(current.comparisons))),
    ]
    if removed:
        lines.append(f"removed from the config (their records no longer count): {', '.join(removed)}")
    old = {p.id: prompt_content_fingerprint(p) for p in old_prompts}
    edited = [p.id for p in new_prompts if p.id in old and old[p.id] != prompt_content_fingerprint(p)]
    if edited:
        shown = ", ".join(edited[:5]) + (", ..." if len(edited) > 5 else "")
        lines.append(f"{len(edited)} prompt(s) changed text under the same id: {shown}")
    return lines


def _changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(name for name, fp in after.items() if name in before and before[name] != fp)
