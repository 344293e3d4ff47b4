"""Agreement tables for the report: one row per pair of raters and group, each measure with its interval."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evalkit.report.formatting import ci, num, pct
from evalkit.report.groups import ALL, ordered_groups
from evalkit.stats import AgreementStat, ConfusionCell
from evalkit.stats.rating_pairs import HUMANS

PAIRWISE_COLUMNS = (
    (
        "tie_discounted_accuracy",
        "Tie-discounted accuracy",
        "LIMA: 1 if both agree, 0.5 if exactly one said tie, else 0",
    ),
    ("agreement", "Agreement", "Share of items with the same label (MT-Bench, with ties)"),
    (
        "agreement_without_ties",
        "Agreement without ties",
        "Only items where neither rater said tie (MT-Bench)",
    ),
    ("cohens_kappa", "Cohen's κ", "Agreement beyond chance; 0 = chance, 1 = perfect"),
    ("krippendorff_alpha", "Krippendorff's α", "Nominal; over all annotators at once for humans with humans"),
)
GRADE_COLUMNS = (
    ("agreement", "Agreement", "Share of responses with the same grade"),
    ("cohens_kappa", "Cohen's κ", "Agreement beyond chance; 0 = chance, 1 = perfect"),
    ("krippendorff_alpha", "Krippendorff's α", "Nominal"),
    (
        "krippendorff_alpha_ordinal",
        "Ordinal α",
        "Krippendorff's alpha with the scale's order (fail < pass < excellent)",
    ),
)
_SHARES = {"tie_discounted_accuracy", "agreement", "agreement_without_ties"}


@dataclass(frozen=True, slots=True)
class MeasureCell:
    """One measure, ready to print: value, interval and the items behind it."""

    text: str
    interval: str
    n: int


@dataclass(frozen=True, slots=True)
class AgreementRow:
    """Two raters on one group of prompts."""

    source_x: str
    source_y: str
    group: str
    n: int
    n_prompts: int
    cells: tuple[MeasureCell | None, ...]


@dataclass(frozen=True, slots=True)
class ConfusionView:
    """A confusion matrix: rows are rater x's labels, columns rater y's."""

    source_x: str
    source_y: str
    labels: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]


@dataclass(frozen=True, slots=True)
class AgreementTable:
    """Rows of one relation (judge–human, human–human, judge–judge) on one scale."""

    title: str
    columns: tuple[tuple[str, str, str], ...]
    rows: tuple[AgreementRow, ...]
    confusion: tuple[ConfusionView, ...]


def agreement_table(
    title: str,
    stats: Sequence[AgreementStat],
    confusion: Sequence[ConfusionCell],
    *,
    grades: bool = False,
) -> AgreementTable:
    """Pivot tidy agreement rows into one table row per (raters, group); overall rows first per pair.

    Rows per split are kept for pooled raters (all annotators) and for two judges; single
    annotators get their overall row only, so the table stays readable.
    """
    columns = GRADE_COLUMNS if grades else PAIRWISE_COLUMNS
    cells: dict[tuple[str, str, str], dict[str, AgreementStat]] = {}
    for stat in stats:
        if (
            stat.group != ALL
            and stat.relation != "judge-judge"
            and HUMANS not in (stat.source_x, stat.source_y)
        ):
            continue
        cells.setdefault((stat.source_x, stat.source_y, stat.group), {})[stat.measure] = stat
    pairs = list(dict.fromkeys((x, y) for x, y, _ in cells))
    rows = [
        _row(x, y, group, cells[(x, y, group)], columns)
        for x, y in pairs
        for group in ordered_groups(g for (cx, cy, g) in cells if (cx, cy) == (x, y))
    ]
    return AgreementTable(title, columns, tuple(rows), tuple(_confusions(confusion)))


def _row(
    x: str, y: str, group: str, measures: dict[str, AgreementStat], columns: Sequence[tuple[str, str, str]]
) -> AgreementRow:
    first = measures.get("agreement") or next(iter(measures.values()))
    return AgreementRow(
        x, y, group, first.n, first.n_prompts, tuple(_cell(measures.get(key)) for key, _, _ in columns)
    )


def _cell(stat: AgreementStat | None) -> MeasureCell | None:
    if stat is None:
        return None
    if stat.measure in _SHARES:
        return MeasureCell(pct(stat.value), ci(stat.ci_low, stat.ci_high), stat.n)
    return MeasureCell(num(stat.value), ci(stat.ci_low, stat.ci_high, percent=False, digits=2), stat.n)


def _confusions(cells: Sequence[ConfusionCell]) -> list[ConfusionView]:
    """Matrices of the overall group, one per pair of raters, in first-appearance order."""
    by_pair: dict[tuple[str, str], list[ConfusionCell]] = {}
    for cell in cells:
        if cell.group == ALL:
            by_pair.setdefault((cell.source_x, cell.source_y), []).append(cell)
    views = []
    for (x, y), pair_cells in by_pair.items():
        labels = tuple(dict.fromkeys(c.label_x for c in pair_cells))
        count = {(c.label_x, c.label_y): c.count for c in pair_cells}
        matrix = tuple(tuple(count[(lx, ly)] for ly in labels) for lx in labels)
        views.append(ConfusionView(x, y, labels, matrix))
    return views
