"""Turn a campaign and a run's records into labeling items and per-annotator queues.

Everything is derived from the campaign seed, so a restarted server builds the same items,
the same queues and the same A/B orders. Items other than the overlap set go to
``per_item`` annotators chosen by rendezvous hashing, so adding an annotator later moves
as few items as possible.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from evalkit.fingerprint import HUMAN_JUDGE, verdict_fingerprint
from evalkit.human.campaign import Campaign, TaskGroup
from evalkit.records import Order, Prompt, Response
from evalkit.runner.meta import RunRecords

TaskKind = Literal["pairwise", "grade"]
CheckKind = Literal["gold", "attention"]
LIVE_CATEGORY = "live-dialogue"


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Task:
    """One item to label.

    Attributes:
        id: Opaque identifier (a hash): it says nothing about the systems.
        kind: "pairwise" or "grade".
        judge: The judge definition whose labels and instructions are shown.
        prompt_id: The run prompt.
        systems: (model_a, model_b) for pairwise items, (system,) for grades.
        overlap: Labeled by every annotator.
        per_item: How many annotators label it (when not overlap).
        check: "gold" or "attention" for silently scored items.
        expected: The known answer of a check (canonical a/b/tie, or a grade label).
        distractor: For attention checks: the prompt whose answer is shown as the off-topic one.
        fingerprint: What its labels rest on (the prompt and the responses shown); labels
            on a response that was since redone no longer count.

    """

    id: str
    kind: TaskKind
    judge: str
    prompt_id: str
    systems: tuple[str, ...]
    overlap: bool = False
    per_item: int = 1
    check: CheckKind | None = None
    expected: str | None = None
    distractor: str | None = None
    fingerprint: str = ""

    @property
    def everyone(self) -> bool:
        """Whether every annotator gets this item."""
        return self.overlap or self.check is not None


def make_task(
    campaign: Campaign,
    kind: TaskKind,
    judge: str,
    prompt_id: str,
    systems: Sequence[str],
    *,
    overlap: bool = False,
    per_item: int = 1,
    check: CheckKind | None = None,
    expected: str | None = None,
    distractor: str | None = None,
) -> Task:
    """A task with its opaque id (a hash of what it is, so a restart finds the same ids)."""
    digest = _digest(campaign.name, kind, judge, prompt_id, *systems, check, distractor)
    return Task(
        id=f"t{digest[:15]}",
        kind=kind,
        judge=judge,
        prompt_id=prompt_id,
        systems=tuple(systems),
        overlap=overlap,
        per_item=per_item,
        check=check,
        expected=expected,
        distractor=distractor,
    )


def stratified_sample(
    prompts: Sequence[Prompt], count: int | None, key: Callable[[Prompt], tuple[str, ...]], rng: random.Random
) -> list[Prompt]:
    """Draw ``count`` prompts with each stratum represented in proportion (largest remainder)."""
    if count is None or count >= len(prompts):
        chosen = list(prompts)
        rng.shuffle(chosen)
        return chosen
    strata: dict[tuple[str, ...], list[Prompt]] = defaultdict(list)
    for prompt in prompts:
        strata[key(prompt)].append(prompt)
    quotas = {s: count * len(members) / len(prompts) for s, members in strata.items()}
    allocation = {s: math.floor(q) for s, q in quotas.items()}
    by_remainder = sorted(strata, key=lambda s: (-(quotas[s] - allocation[s]), rng.random()))
    for stratum in by_remainder[: count - sum(allocation.values())]:
        allocation[stratum] += 1
    chosen = [p for s in sorted(strata) for p in rng.sample(strata[s], allocation[s])]
    rng.shuffle(chosen)
    return chosen


class Catalog:
    """The campaign's items over one run, and who labels what."""

    def __init__(self, campaign: Campaign, records: RunRecords) -> None:
        self.campaign = campaign
        self.prompts = {p.id: p for p in records.prompts if p.category != LIVE_CATEGORY}
        self.responses = {(r.prompt_id, r.system): r for r in records.responses if r.sample == 0}
        config = records.meta.config
        config_systems = [s.name for s in config.systems] if config is not None else []
        self.systems = config_systems or sorted({r.system for r in records.responses})
        configured = [(str(a), str(b)) for a, b in records.meta.comparisons]
        self.pairs: list[tuple[str, str]] = configured or _default_pairs(records, self.systems)
        campaign.check_against(self.systems, self.pairs)
        tasks: list[Task] = []
        for index, group in enumerate(campaign.tasks):
            tasks += self._group_tasks(index, group)
        tasks += self._gold_tasks() + self._attention_tasks()
        self.tasks = {t.id: replace(t, fingerprint=self._fingerprint(t)) for t in tasks}

    def _fingerprint(self, task: Task) -> str:
        prompt = self.prompts.get(task.prompt_id)
        if prompt is None or task.check == "attention":
            return ""
        shown = [self.responses.get((task.prompt_id, system)) for system in task.systems]
        return verdict_fingerprint(HUMAN_JUDGE, prompt, [r.fingerprint if r else "" for r in shown])

    def usable(self, prompt_id: str, systems: Sequence[str]) -> bool:
        """Whether every system has a successful answer to the prompt."""
        found = [self.responses.get((prompt_id, s)) for s in systems]
        return all(r is not None and r.error is None and r.outputs for r in found)

    def response(self, prompt_id: str, system: str) -> Response:
        """The answer shown for a prompt and system."""
        return self.responses[(prompt_id, system)]

    def _group_tasks(self, index: int, group: TaskGroup) -> list[Task]:
        targets: list[tuple[str, ...]] = (
            [tuple(p) for p in (group.comparisons or self.pairs)]
            if group.kind == "pairwise"
            else [(s,) for s in (group.systems or self.systems)]
        )
        tasks = []
        for target in targets:
            rng = random.Random(f"{self.campaign.seed}|{index}|{'|'.join(target)}")
            eligible = [p for p in self.prompts.values() if self.usable(p.id, target)]
            chosen = stratified_sample(eligible, group.items, lambda p: _stratum(p, group), rng)
            for position, prompt in enumerate(chosen):
                tasks.append(
                    make_task(
                        self.campaign,
                        group.kind,
                        group.judge_name,
                        prompt.id,
                        target,
                        overlap=position < group.overlap,
                        per_item=group.per_item,
                    )
                )
        return tasks

    def _gold_tasks(self) -> list[Task]:
        tasks = []
        for gold in self.campaign.gold:
            kind: TaskKind = "pairwise" if gold.comparison else "grade"
            systems = gold.comparison or (gold.system or "",)
            judge = "lima-pairwise" if kind == "pairwise" else "lima-grade"
            if self.usable(gold.prompt, systems):
                tasks.append(
                    make_task(
                        self.campaign, kind, judge, gold.prompt, systems, check="gold", expected=gold.answer
                    )
                )
        return tasks

    def _attention_tasks(self) -> list[Task]:
        rng = random.Random(f"{self.campaign.seed}|attention")
        ids = sorted(self.prompts)
        tasks = []
        for system in self.systems[:1]:
            usable = [p for p in ids if self.usable(p, (system,))]
            if len(usable) < 2:
                return []
            for _ in range(self.campaign.attention_checks):
                prompt, distractor = rng.sample(usable, 2)
                tasks.append(
                    make_task(
                        self.campaign,
                        "pairwise",
                        "lima-pairwise",
                        prompt,
                        (system, system),
                        check="attention",
                        expected="a",
                        distractor=distractor,
                    )
                )
        return tasks

    def queue(self, annotator: str, annotators: Sequence[str]) -> list[Task]:
        """The items this annotator labels, in their own seeded order."""
        seed = self.campaign.seed
        mine = [t for t in self.tasks.values() if t.everyone or annotator in _owners(seed, t, annotators)]
        return sorted(mine, key=lambda t: _digest(seed, annotator, t.id))

    def shown_order(self, annotator: str, task: Task) -> Order:
        """The A/B order this annotator sees for this item (seeded, so stable across restarts)."""
        if task.kind != "pairwise":
            return "ab"
        return (
            "ab" if int(_digest(self.campaign.seed, "order", annotator, task.id)[:8], 16) % 2 == 0 else "ba"
        )


def _owners(seed: int, task: Task, annotators: Sequence[str]) -> list[str]:
    ranked = sorted(annotators, key=lambda name: _digest(seed, task.id, name))
    return ranked[: task.per_item]


def _stratum(prompt: Prompt, group: TaskGroup) -> tuple[str, ...]:
    return tuple(prompt.split if field == "split" else prompt.category for field in group.stratify)


def _default_pairs(records: RunRecords, systems: list[str]) -> list[tuple[str, str]]:
    judged = sorted({(j.model_a, j.model_b) for j in records.judgments if not j.source.startswith("human:")})
    if judged:
        return judged
    return [(a, b) for i, a in enumerate(systems) for b in systems[i + 1 :]]
