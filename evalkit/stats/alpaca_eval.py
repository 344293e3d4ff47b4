"""AlpacaEval's published leaderboard fields, computed from ordinary verdicts.

AlpacaEval scores each instruction by its preference rescaled to [0, 1]: the candidate's
probability of being better for a logprob-weighted annotator, else 1 / 0.5 / 0 for a win,
draw or loss. Over the instructions with a preference:

* ``win_rate`` = 100 x mean score; ``standard_error`` = 100 x its standard error (ddof = 1);
* ``discrete_win_rate`` = 100 x (wins + draws / 2) / n_total, with a win meaning the score is
  above one half (so continuous preferences are discretized the same way);
* ``n_wins`` / ``n_wins_base`` / ``n_draws`` / ``n_total``: the counts of those outcomes;
* ``avg_length``: the candidate's mean output length in characters over all of its outputs,
  truncated to an integer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evalkit.records import Response
from evalkit.stats.common import OUTCOME_SCORE
from evalkit.stats.pairwise import Verdict


@dataclass(frozen=True, slots=True)
class AlpacaEvalRow:
    """One model's AlpacaEval leaderboard row against the baseline, for one annotator (source).

    Rates and standard errors are in percent, as AlpacaEval publishes them. The
    length-controlled fields are nan until ``with_length_control`` fills them.
    """

    model: str
    baseline: str
    source: str
    win_rate: float
    standard_error: float
    n_wins: int
    n_wins_base: int
    n_draws: int
    n_total: int
    discrete_win_rate: float
    avg_length: int
    length_controlled_winrate: float = math.nan
    lc_standard_error: float = math.nan


def verdict_score(verdict: Verdict) -> float:
    """The candidate's (model_a's) score on one resolved verdict: expected if probabilities exist."""
    table = verdict.probabilities
    if table is not None:
        return table.get("a", 0.0) + 0.5 * table.get("tie", 0.0)
    assert verdict.outcome is not None
    return OUTCOME_SCORE[verdict.outcome]


def average_length(responses: Sequence[Response], system: str) -> int:
    """AlpacaEval's ``avg_length``: mean characters of a system's outputs, truncated (0 if none)."""
    lengths = [sum(map(len, r.outputs)) for r in responses if r.system == system and r.error is None]
    return int(np.mean(lengths)) if lengths else 0


def alpaca_eval_row(cell: Sequence[Verdict], responses: Sequence[Response]) -> AlpacaEvalRow:
    """The leaderboard row of one comparison (all verdicts share model_a, model_b and source)."""
    first = cell[0]
    resolved = [v for v in cell if v.outcome is not None]
    scores = np.array([verdict_score(v) for v in resolved], dtype=np.float64)
    n = scores.size
    wins = sum(1 for s in scores if s > 0.5)
    losses = sum(1 for s in scores if s < 0.5)
    draws = n - wins - losses
    return AlpacaEvalRow(
        model=first.model_a,
        baseline=first.model_b,
        source=first.source,
        win_rate=float(scores.mean()) * 100 if n else math.nan,
        standard_error=float(scores.std(ddof=1) / math.sqrt(n)) * 100 if n > 1 else math.nan,
        n_wins=wins,
        n_wins_base=losses,
        n_draws=draws,
        n_total=n,
        discrete_win_rate=(wins + draws / 2) / n * 100 if n else math.nan,
        avg_length=average_length(responses, first.model_a),
    )


def alpaca_eval_rows(verdicts: Sequence[Verdict], responses: Sequence[Response]) -> list[AlpacaEvalRow]:
    """One row per (model_a, model_b, source) comparison, in first-appearance order."""
    cells: dict[tuple[str, str, str], list[Verdict]] = {}
    for verdict in verdicts:
        cells.setdefault((verdict.model_a, verdict.model_b, verdict.source), []).append(verdict)
    return [alpaca_eval_row(cell, responses) for cell in cells.values()]
