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
from evalkit.stats.alpaca_eval import AlpacaEvalRow, alpaca_eval_rows
from evalkit.stats.alpaca_lc import LengthControlled, alpaca_eval_length_controlled
from evalkit.stats.common import StatsInputError, is_human
from evalkit.stats.correction import CorrectedWinRate, corrected_win_rates
from evalkit.stats.diagnostics import JudgeDiagnostics, judge_diagnostics, model_family
from evalkit.stats.difficulty import estimate_instruction_difficulty
from evalkit.stats.frames import to_frame
from evalkit.stats.gap import SplitGap, split_gap
from evalkit.stats.grades import GradeDistribution, grade_distributions
from evalkit.stats.leaderboard import Rating, bradley_terry, length_controlled_win_rate
from evalkit.stats.pairwise import Verdict, WinRate, reconcile, win_rates
from evalkit.stats.panels import PanelMethod, aggregate_samples, combine_panel, run_verdicts
from evalkit.stats.ppi import PPIEstimate, mean_interval, ppi_mean
from evalkit.stats.style import StyleCoefficient, StyleControlled, StyleRating, style_controlled_ratings

simple_length_controlled_win_rate = length_controlled_win_rate
"""The simpler length-controlled estimator (one logistic slope per comparison, no difficulty term)."""

__all__ = [
    "Agreement",
    "AgreementStat",
    "AlpacaEvalRow",
    "ConfusionCell",
    "CorrectedWinRate",
    "GradeDistribution",
    "JudgeDiagnostics",
    "LengthControlled",
    "PPIEstimate",
    "PanelMethod",
    "Rating",
    "SplitGap",
    "StatsInputError",
    "StyleCoefficient",
    "StyleControlled",
    "StyleRating",
    "Verdict",
    "WinRate",
    "aggregate_samples",
    "agreement_between",
    "agreement_matrix",
    "alpaca_eval_length_controlled",
    "alpaca_eval_rows",
    "bradley_terry",
    "cohens_kappa",
    "combine_panel",
    "corrected_win_rates",
    "estimate_instruction_difficulty",
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
    "simple_length_controlled_win_rate",
    "split_gap",
    "style_controlled_ratings",
    "tie_discounted_accuracy",
    "to_frame",
    "win_rates",
]
