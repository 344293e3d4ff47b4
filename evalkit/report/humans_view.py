"""Human labels section: human bars beside each judge's, agreement with intervals, corrected win rates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from evalkit.records import Prompt, swap_outcome
from evalkit.report.agreement_view import AgreementTable, agreement_table
from evalkit.report.charts import WIN_TIE_LOSS_COLORS, Bar, Panel, stacked_bars_svg
from evalkit.report.groups import ALL, group_name, splits_to_show
from evalkit.report.index import ReportIndex
from evalkit.report.pairwise_view import StatSettings, rate_note
from evalkit.runner.meta import RunRecords
from evalkit.stats import (
    AgreementStat,
    ConfusionCell,
    CorrectedWinRate,
    Verdict,
    WinRate,
    corrected_win_rates,
    grade_agreement,
    grade_confusion,
    is_human,
    pairwise_agreement,
    pairwise_confusion,
    win_rates,
)
from evalkit.stats.common import GroupBy
from evalkit.stats.rating_pairs import HUMANS

RELATIONS = (("judge-human", "Judge–human agreement"), ("human-human", "Human–human agreement"))


@dataclass(frozen=True, slots=True)
class PairwiseAgreement:
    """Pairwise agreement of every two raters, computed once for the judges and humans sections."""

    stats: tuple[AgreementStat, ...]
    confusion: tuple[ConfusionCell, ...]

    def table(self, relation: str, title: str) -> AgreementTable | None:
        """The rows of one relation as a table (None when no two such raters share items)."""
        stats = [s for s in self.stats if s.relation == relation]
        if not stats:
            return None
        return agreement_table(title, stats, _pooled_confusion(self.confusion, relation))


@dataclass(frozen=True, slots=True)
class HumanSection:
    """What the report shows about human labels (empty when the run has none)."""

    annotators: tuple[str, ...]
    chart: str = ""
    corrected: tuple[CorrectedWinRate, ...] = ()
    pairwise: tuple[AgreementTable, ...] = ()
    grades: tuple[AgreementTable, ...] = ()

    @property
    def present(self) -> bool:
        """True when the run has human labels."""
        return bool(self.annotators)

    def corrected_for(self, model_a: str, model_b: str, judge: str, group: str) -> CorrectedWinRate | None:
        """The human-corrected win rate of one judge's comparison on one group, if humans labeled it."""
        key = (model_a, model_b, judge, group)
        return next((r for r in self.corrected if (r.model_a, r.model_b, r.judge, r.group) == key), None)


def groupings_of(records: RunRecords) -> list[GroupBy]:
    """All prompts, and each split when the run has splits."""
    return ["all", "split"] if splits_to_show(records.prompts) else ["all"]


def compute_agreement(
    verdicts: Sequence[Verdict], records: RunRecords, settings: StatSettings
) -> PairwiseAgreement:
    """Agreement of every two pairwise raters, overall and per split, with intervals."""
    prompts = {p.id: p for p in records.prompts}
    stats = [
        s
        for by in groupings_of(records)
        for s in pairwise_agreement(
            verdicts,
            prompts,
            by=by,
            n_boot=settings.n_boot,
            confidence=settings.confidence,
            seed=settings.seed,
        )
    ]
    return PairwiseAgreement(tuple(stats), tuple(pairwise_confusion(verdicts, prompts)))


def build_humans(
    records: RunRecords,
    verdicts: Sequence[Verdict],
    agreement: PairwiseAgreement,
    index: ReportIndex,
    settings: StatSettings,
    *,
    charts: bool = True,
) -> HumanSection:
    """Human bars beside the judges', agreement tables and corrected win rates; empty without human labels."""
    annotators = sorted({v.source for v in verdicts if is_human(v.source)} | _grade_humans(records))
    if not annotators:
        return HumanSection(())
    prompts = {p.id: p for p in records.prompts}
    tables = (agreement.table(relation, title) for relation, title in RELATIONS)
    return HumanSection(
        annotators=tuple(annotators),
        chart=_chart(verdicts, prompts, index, settings) if charts else "",
        corrected=_corrected(verdicts, prompts, groupings_of(records)),
        pairwise=tuple(table for table in tables if table is not None),
        grades=_grade_tables(records, prompts, groupings_of(records), settings),
    )


def _corrected(
    verdicts: Sequence[Verdict], prompts: Mapping[str, Prompt], groupings: Sequence[GroupBy]
) -> tuple[CorrectedWinRate, ...]:
    """Corrected win rates, each judge's comparison with its overall row first and its splits after."""
    rows = [row for by in groupings for row in corrected_win_rates(verdicts, prompts, by=by)]
    order = {key: i for i, key in enumerate(dict.fromkeys((r.model_a, r.model_b, r.judge) for r in rows))}
    return tuple(sorted(rows, key=lambda r: order[(r.model_a, r.model_b, r.judge)]))


def _grade_humans(records: RunRecords) -> set[str]:
    return {g.source for g in records.grades if is_human(g.source)}


def _pooled_confusion(confusion: Sequence[ConfusionCell], relation: str) -> list[ConfusionCell]:
    """Confusion cells of a relation; with humans, only those of all annotators pooled."""
    return [
        c
        for c in confusion
        if c.relation == relation and (relation == "judge-judge" or HUMANS in (c.source_x, c.source_y))
    ]


def _grade_tables(
    records: RunRecords, prompts: Mapping[str, Prompt], groupings: Sequence[GroupBy], settings: StatSettings
) -> tuple[AgreementTable, ...]:
    stats = [
        s
        for by in groupings
        for s in grade_agreement(
            records.grades,
            prompts,
            by=by,
            n_boot=settings.n_boot,
            confidence=settings.confidence,
            seed=settings.seed,
        )
        if s.relation != "judge-judge"
    ]
    confusion = grade_confusion(records.grades, prompts)
    tables = []
    for scale in dict.fromkeys(s.scale for s in stats):
        scale_stats = [s for s in stats if s.scale == scale]
        cells = [c for c in _pooled_confusion(confusion, "judge-human") if c.scale == scale]
        cells += [c for c in _pooled_confusion(confusion, "human-human") if c.scale == scale]
        tables.append(agreement_table(f"Grades on scale {scale}", scale_stats, cells, grades=True))
    return tuple(tables)


def pooled_human_verdicts(
    verdicts: Sequence[Verdict], comparisons: Sequence[tuple[str, str]]
) -> list[Verdict]:
    """Every annotator's verdicts as one source (``humans``), oriented as the judges' comparisons."""
    known = set(comparisons)
    pooled = []
    for v in verdicts:
        if not is_human(v.source):
            continue
        if (v.model_a, v.model_b) not in known and (v.model_b, v.model_a) in known:
            v = replace(v, model_a=v.model_b, model_b=v.model_a, outcome=swap_outcome(v.outcome))
        pooled.append(replace(v, source=HUMANS))
    return pooled


def _chart(
    verdicts: Sequence[Verdict], prompts: Mapping[str, Prompt], index: ReportIndex, settings: StatSettings
) -> str:
    """LIMA's Figures 1 and 2 side by side: per comparison, the humans' bar above each judge's, per split."""
    judges = [v for v in verdicts if not is_human(v.source)]
    comparisons = list(dict.fromkeys((v.model_a, v.model_b) for v in judges))
    humans = pooled_human_verdicts(verdicts, comparisons)
    groups = [ALL, *splits_to_show(list(prompts.values()))]
    rates: dict[tuple[str, str, str, str], WinRate] = {}
    for by in ("all", "split") if len(groups) > 1 else ("all",):
        for r in win_rates(
            humans + judges,
            prompts,
            by=by,
            n_boot=settings.n_boot,
            confidence=settings.confidence,
            seed=settings.seed,
        ):
            rates[(r.model_a, r.model_b, r.source, r.group)] = r
    sources = [HUMANS, *dict.fromkeys(v.source for v in judges)]
    shown = [pair for pair in comparisons if (*pair, HUMANS, ALL) in rates]
    panels = [Panel(group_name(group), tuple(_bars(rates, shown, sources, group))) for group in groups]
    segments = ["first-named system wins", "tie", "second-named system wins"]
    return stacked_bars_svg("humans-vs-judges", panels, segments, WIN_TIE_LOSS_COLORS)


def _bars(
    rates: Mapping[tuple[str, str, str, str], WinRate],
    comparisons: Sequence[tuple[str, str]],
    sources: Sequence[str],
    group: str,
) -> list[Bar]:
    bars = []
    for a, b in comparisons:
        for source in sources:
            if (a, b, source, ALL) not in rates:
                continue  # this judge did not compare these two systems
            rate = rates.get((a, b, source, group))
            shares = (rate.win_share, rate.tie_share, rate.loss_share) if rate and rate.n else (0.0,) * 3
            label = f"{a} vs {b} · {'humans' if source == HUMANS else source}"
            bars.append(Bar(label, shares, rate_note(rate) if rate else "no verdicts"))
    return bars
