"""Everything the report template shows, computed once from the run's records and evalkit.stats."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from evalkit.analysis.ablation import system_attributes
from evalkit.analysis.shift_records import ShiftAnswer
from evalkit.report.ablation_view import AblationBlock, build_ablations
from evalkit.report.examples_view import ExampleBrowser, build_examples
from evalkit.report.failures_view import Failures, build_failures
from evalkit.report.grades_view import GradeBlock, build_grades, compute_distributions
from evalkit.report.groups import categories_of, group_name, splits_to_show
from evalkit.report.header import RunHeader, build_header, local_judge_models, system_models
from evalkit.report.headline_view import Headline, build_headline
from evalkit.report.humans_view import HumanSection, build_humans, compute_agreement
from evalkit.report.index import ReportIndex, build_index
from evalkit.report.judges_view import JudgeSection, build_judges
from evalkit.report.leaderboard_view import Leaderboard, build_leaderboards
from evalkit.report.pairwise_view import JudgeComparisons, PairwiseTables, StatSettings, compute_tables
from evalkit.report.pairwise_view import build_pairwise as build_pairwise_blocks
from evalkit.report.shift_view import ShiftSection, build_shift
from evalkit.runner.meta import RunRecords
from evalkit.stats import GradeDistribution, Verdict, run_verdicts
from evalkit.stats.judge_compare import JudgeComparison, compare_judges


@dataclass(frozen=True, slots=True)
class ReportContext:
    """The data behind one report page (and the notebook summary)."""

    header: RunHeader
    local_judges: tuple[str, ...]
    index: ReportIndex
    verdicts: tuple[Verdict, ...]
    tables: PairwiseTables
    pairwise: tuple[JudgeComparisons, ...]
    leaderboards: tuple[Leaderboard, ...]
    distributions: tuple[GradeDistribution, ...]
    grades: tuple[GradeBlock, ...]
    judges: JudgeSection
    humans: HumanSection
    failures: Failures
    examples: ExampleBrowser
    splits: tuple[str, ...]
    categories: tuple[str, ...]
    settings: StatSettings
    shift: ShiftSection
    ablations: tuple[AblationBlock, ...]
    system_attributes: dict[str, dict[str, str | int | float | bool]]
    judge_choice: tuple[JudgeComparison, ...]
    headline: Headline

    def group_name(self, group: str) -> str:
        """Display name of a group label."""
        return group_name(group)


def verdicts_of(records: RunRecords) -> list[Verdict]:
    """A run's reconciled verdicts, as its run record configures them (panel, reconciliation)."""
    meta = records.meta
    panel = meta.config.panel.method if meta.config and meta.config.panel else None
    return run_verdicts(records.judgments, panel=panel, probability_sources=meta.probability_sources())


def build_context(
    records: RunRecords,
    *,
    title: str | None = None,
    settings: StatSettings | None = None,
    charts: bool = True,
    examples: bool = True,
    shift: Sequence[ShiftAnswer] = (),
    judge_usage: tuple[Mapping[str, float], Mapping[str, float]] = ({}, {}),
) -> ReportContext:
    """Compute every statistic and view the report needs.

    Args:
        records: The run's records.
        title: Page title (default: from the run name).
        settings: Seed, replicates and coverage of every interval (default: the defaults).
        charts: Render the SVG charts (the notebook summary does not need them).
        examples: Build the example browser (the notebook summary does not need it).
        shift: Token distribution shift records (the run folder's shift.jsonl), if any.
        judge_usage: Estimated USD and seconds per judge source (evalkit.analysis.judges.judge_usage).

    Returns:
        The context for the report template.

    """
    settings = settings or StatSettings()
    header = build_header(records, title)
    verdicts = tuple(verdicts_of(records))
    index = build_index(records, verdicts)
    tables = compute_tables(verdicts, records, settings)
    distributions = tuple(compute_distributions(records, settings))
    agreement = compute_agreement(verdicts, records, settings)
    browser = build_examples(records, verdicts, index) if examples else ExampleBrowser((), ())
    local_judges = local_judge_models(header, records)
    pairwise = build_pairwise_blocks(tables, records, index, charts=charts)
    leaderboards = build_leaderboards(
        verdicts, tables, index, settings, charts=charts, responses=records.responses
    )
    return ReportContext(
        header=header,
        local_judges=local_judges,
        index=index,
        verdicts=verdicts,
        tables=tables,
        pairwise=pairwise,
        leaderboards=leaderboards,
        headline=build_headline(pairwise, leaderboards, local_judges),
        distributions=distributions,
        grades=build_grades(
            distributions,
            records,
            index,
            charts=charts,
            by_category=compute_distributions(records, settings, by_category=True),
        ),
        judges=build_judges(records, agreement, system_models(header)),
        humans=build_humans(records, verdicts, agreement, index, settings, charts=charts),
        failures=build_failures(records, index),
        examples=browser,
        splits=tuple(splits_to_show(records.prompts)),
        categories=tuple(categories_of(records.prompts)),
        settings=settings,
        shift=build_shift(shift, records.prompts, settings, charts=charts),
        ablations=build_ablations(records, verdicts, settings, charts=charts),
        system_attributes=system_attributes(records.meta.config),
        judge_choice=tuple(
            compare_judges(
                records.judgments,
                records.responses,
                system_models(header),
                usd=judge_usage[0],
                seconds=judge_usage[1],
                seed=settings.seed,
            )
        )
        if records.judgments
        else (),
    )
