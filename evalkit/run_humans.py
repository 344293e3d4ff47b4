"""The notebook's tables of human labels: agreement and judge win rates corrected by people."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, get_args

import pandas as pd

from evalkit import stats
from evalkit.errors import ConfigError
from evalkit.runner.meta import RunRecords
from evalkit.stats.ppi import CorrectionMethod

Grouping = Literal["all", "split", "category"]
AgreementKind = Literal["pairwise", "grade", "all"]
Relation = Literal["judge-human", "human-human", "judge-judge"]


def frame(rows: Sequence[Any], kind: type) -> pd.DataFrame:
    """A tidy frame whose columns are ``kind``'s fields, even when there are no rows."""
    columns = [field.name for field in dataclasses.fields(kind)]
    return pd.DataFrame([dataclasses.astuple(row) for row in rows], columns=columns)


class HumanTables:
    """Agreement and corrected win rates of a loaded run (``evalkit.Run`` has them)."""

    records: RunRecords

    if TYPE_CHECKING:  # provided by ``evalkit.Run``

        @property
        def seed(self) -> int:
            """The run's seed."""

        @property
        def prompts(self) -> dict[str, Any]:
            """Prompts by id."""

        @property
        def verdicts(self) -> list[stats.Verdict]:
            """Reconciled pairwise verdicts."""

    def agreement(
        self,
        by: Grouping = "split",
        kind: AgreementKind = "all",
        *,
        relation: Relation | None = None,
        n_boot: int | None = None,
        confidence: float | None = None,
    ) -> pd.DataFrame:
        """Agreement between raters (judges and human annotators), one row per measure.

        Compared raters: every two judges, each judge with all annotators pooled (``humans``)
        and with each annotator, every two annotators, all annotators together (``humans`` with
        ``humans``; its Krippendorff's alpha allows missing labels) and each annotator against
        the others' most common label (``others' mode``). Pairwise measures: tie-discounted
        accuracy (LIMA), agreement with and without ties (MT-Bench), Cohen's kappa and
        Krippendorff's alpha; grades: agreement, kappa, alpha and, on ordered scales, ordinal alpha.

        Args:
            by: "all" for all prompts only; "split" or "category" for all prompts plus one
                group per split or category.
            kind: "pairwise", "grade", or "all" for both.
            relation: Keep one relation only: "judge-human", "human-human" or "judge-judge".
            n_boot: Bootstrap replicates (whole prompts resampled, seeded with the run's seed;
                default: the run's, as in the report).
            confidence: Interval coverage (default: the run's).

        Returns:
            Columns kind, scale, relation, source_x, source_y, group, measure, value, ci_low,
            ci_high, n (items behind the value), n_prompts.

        """
        if relation is not None and relation not in get_args(Relation):
            known = ", ".join(get_args(Relation))
            raise ConfigError(f"unknown relation {relation!r}; choose one of: {known}")
        rows: list[stats.AgreementStat] = []
        meta = self.records.meta
        n_boot = meta.n_boot if n_boot is None else n_boot
        confidence = meta.confidence if confidence is None else confidence
        for grouping in self._groupings(by):
            settings: dict[str, Any] = {"by": grouping, "n_boot": n_boot, "confidence": confidence}
            if kind in ("pairwise", "all"):
                rows += stats.pairwise_agreement(self.verdicts, self.prompts, seed=self.seed, **settings)
            if kind in ("grade", "all"):
                rows += stats.grade_agreement(self.records.grades, self.prompts, seed=self.seed, **settings)
        return frame([r for r in rows if relation in (None, r.relation)], stats.AgreementStat)

    def confusion(self, by: Grouping = "split", kind: AgreementKind = "all") -> pd.DataFrame:
        """Confusion matrices behind ``agreement``: a count per (raters, group, label_x, label_y)."""
        rows: list[stats.ConfusionCell] = []
        for grouping in self._groupings(by):
            if kind in ("pairwise", "all"):
                rows += stats.pairwise_confusion(self.verdicts, self.prompts, by=grouping)
            if kind in ("grade", "all"):
                rows += stats.grade_confusion(self.records.grades, self.prompts, by=grouping)
        return frame(rows, stats.ConfusionCell)

    def corrected_win_rates(
        self, by: Grouping = "split", method: CorrectionMethod = "ppi++", confidence: float = 0.95
    ) -> pd.DataFrame:
        """Each judge's win rates corrected by the human labels (prediction-powered inference).

        The estimated quantity is the humans' win rate of model_a over model_b, ties counted
        half, over the prompts the judge resolved: the judge's mean score there plus the mean
        human-minus-judge difference on the human-labeled prompts (weighted by a tuned lambda
        for "ppi++", the default; lambda 1 for "ppi"; "classical" uses the labels alone). The
        normal interval is valid when the labeled prompts are a random sample of those prompts.

        Args:
            by: "all" for all prompts only; "split" or "category" for all prompts plus each group.
            method: "ppi++", "ppi" or "classical".
            confidence: Interval coverage.

        Returns:
            One row per (model_a, model_b, judge, group) with human labels: n_items (N),
            n_labeled (n), the judge-only and human-only rates with intervals, the corrected
            win_rate with ci_low / ci_high, and lam.

        """
        rows = [
            row
            for grouping in self._groupings(by)
            for row in stats.corrected_win_rates(
                self.verdicts, self.prompts, by=grouping, method=method, confidence=confidence
            )
        ]
        return frame(rows, stats.CorrectedWinRate)

    def _groupings(self, by: Grouping) -> list[Grouping]:
        """All prompts first, then the requested grouping (none for splits when no prompt has one)."""
        unsplit = by == "split" and all(p.split == "unspecified" for p in self.records.prompts)
        return ["all"] if by == "all" or unsplit else ["all", by]
