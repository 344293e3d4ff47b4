"""Statistics over evaluation records: pure functions, seeded cluster bootstraps over prompts.

Every function takes records (or reconciled verdicts) and returns frozen dataclasses; ``to_frame``
turns a list of them into a pandas DataFrame for notebooks and reports.
"""

from evalkit.stats.agreement import (
    Agreement,
    agreement_between,
    agreement_matrix,
    cohens_kappa,
    krippendorff_alpha,
    raw_agreement,
    tie_discounted_accuracy,
)
from evalkit.stats.agreement_intervals import (
    AgreementStat,
    ConfusionCell,
    grade_agreement,
    grade_confusion,
    pairwise_agreement,
    pairwise_confusion,
)
from evalkit.stats.common import StatsInputError, is_human
from evalkit.stats.correction import CorrectedWinRate, corrected_win_rates
from evalkit.stats.diagnostics import JudgeDiagnostics, judge_diagnostics, model_family
from evalkit.stats.frames import to_frame
from evalkit.stats.gap import SplitGap, split_gap
from evalkit.stats.grades import GradeDistribution, grade_distributions
from evalkit.stats.leaderboard import Rating, bradley_terry, length_controlled_win_rate
from evalkit.stats.pairwise import Verdict, WinRate, reconcile, win_rates
from evalkit.stats.panels import PanelMethod, aggregate_samples, combine_panel, run_verdicts
from evalkit.stats.ppi import PPIEstimate, mean_interval, ppi_mean

__all__ = [
    "Agreement",
    "AgreementStat",
    "ConfusionCell",
    "CorrectedWinRate",
    "GradeDistribution",
    "JudgeDiagnostics",
    "PPIEstimate",
    "PanelMethod",
    "Rating",
    "SplitGap",
    "StatsInputError",
    "Verdict",
    "WinRate",
    "aggregate_samples",
    "agreement_between",
    "agreement_matrix",
    "bradley_terry",
    "cohens_kappa",
    "combine_panel",
    "corrected_win_rates",
    "grade_agreement",
    "grade_confusion",
    "grade_distributions",
    "is_human",
    "judge_diagnostics",
    "krippendorff_alpha",
    "length_controlled_win_rate",
    "mean_interval",
    "model_family",
    "pairwise_agreement",
    "pairwise_confusion",
    "ppi_mean",
    "raw_agreement",
    "reconcile",
    "run_verdicts",
    "split_gap",
    "tie_discounted_accuracy",
    "to_frame",
    "win_rates",
]
