"""Judge diagnostics: position bias, ties, unparsed verdicts, length bias, self-preference."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from evalkit.records import Judgment, Response
from evalkit.stats.common import OUTCOME_SCORE, is_human, percentile_interval, safe_share
from evalkit.stats.lengths import LengthKey, length_slope_fit, response_lengths, verdict_lengths
from evalkit.stats.pairwise import Verdict, reconcile

HIGH_FLIP_RATE = 0.2
HIGH_UNPARSED_RATE = 0.05
HIGH_TIE_RATE = 0.5
POSITION_BIAS_MARGIN = 0.15
"""Warn when the first-shown response wins more than 0.5 + margin (or less than 0.5 - margin)."""
LONGER_WINS_MARGIN = 0.2
MIN_JUDGMENTS_FOR_RATE_WARNINGS = 20
"""Rates from fewer judgments than this are too noisy to warn about."""

KNOWN_FAMILIES = (
    "gpt",
    "claude",
    "gemini",
    "gemma",
    "llama",
    "mistral",
    "mixtral",
    "qwen",
    "phi",
    "deepseek",
    "command",
    "olmo",
    "falcon",
    "grok",
)


@dataclass(frozen=True, slots=True)
class JudgeDiagnostics:
    """Behaviour of one judge source over all its pairwise judgments.

    Rates are nan when their denominator is empty. ``length_coefficient`` is the slope of a
    logistic regression of model_a's score (ties = 0.5) on (len_a - len_b) / 100 characters
    over resolved verdicts; its interval resamples whole prompts.
    """

    source: str
    judgments: int
    unparsed: int
    errors: int
    unparsed_rate: float
    pairs: int
    position_flip_rate: float
    inconsistency_rate: float
    first_position_preference: float
    tie_rate: float
    longer_wins_rate: float
    length_coefficient: float
    length_coefficient_ci: tuple[float, float]
    warnings: tuple[str, ...]


def model_family(spec: str) -> str:
    """Family of a model spec or id, for self-preference checks.

    The provider prefix and path are dropped ("openai/gpt-4o" -> "gpt-4o"); GPT models keep
    their major version ("gpt-4o", "gpt-4-turbo" -> "gpt-4"); other known families are found
    as a word inside the name ("meta-llama-3-8b" -> "llama"); otherwise the leading letters
    of the name ("claude-3-5-sonnet" -> "claude"). Empty for an empty spec.
    """
    name = spec.strip().lower().rstrip("/").rsplit("/", 1)[-1].split(":", 1)[0]
    gpt = re.search(r"(?<![a-z])(?:chat)?gpt-?(\d+)", name)
    if gpt:
        return f"gpt-{gpt.group(1)}"
    for family in KNOWN_FAMILIES:
        if re.search(rf"(?<![a-z]){family}", name):
            return family
    word = re.match(r"[a-z]+", name)
    return word.group(0) if word else name


def judge_diagnostics(
    judgments: Sequence[Judgment],
    responses: Sequence[Response],
    system_models: Mapping[str, str] | None = None,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> list[JudgeDiagnostics]:
    """Diagnose each judge source: parse failures, position bias, ties, length bias, self-preference.

    Args:
        judgments: Single-order pairwise judgments of any number of sources.
        responses: The judged responses, for lengths (and their model ids).
        system_models: System name -> model spec. A system's models are this spec plus the
            model ids of its responses; with neither, its name stands in.
        n_boot: Bootstrap replicates for the length coefficient's interval.
        seed: Seed for that bootstrap.

    Returns:
        One JudgeDiagnostics per judge source, in first-appearance order. Human labels (source
        "human:<annotator>") are left out: each is shown in one order, so position statistics
        do not apply; their agreement with judges is measured instead.

    """
    by_source: dict[str, list[Judgment]] = {}
    for judgment in judgments:
        if is_human(judgment.source):
            continue
        by_source.setdefault(judgment.source, []).append(judgment)
    lengths = response_lengths(responses)
    models = system_models_of(responses, system_models or {})
    return [_diagnose(source, items, lengths, models, n_boot, seed) for source, items in by_source.items()]


def _diagnose(
    source: str,
    judgments: Sequence[Judgment],
    lengths: dict[LengthKey, int],
    models: Mapping[str, set[str]],
    n_boot: int,
    seed: int,
) -> JudgeDiagnostics:
    errors = sum(j.error is not None for j in judgments)
    unparsed = sum(j.error is None and j.outcome is None for j in judgments)
    parsed = [j for j in judgments if j.error is None and j.outcome is not None]
    verdicts = reconcile(judgments)
    both = [v for v in verdicts if v.orders == 2]
    slope, slope_ci = _length_coefficient(verdicts, lengths, n_boot, seed)
    diagnostics = JudgeDiagnostics(
        source=source,
        judgments=len(judgments),
        unparsed=unparsed,
        errors=errors,
        unparsed_rate=safe_share(unparsed, len(judgments)),
        pairs=len(both),
        position_flip_rate=safe_share(sum(v.flipped for v in both), len(both)),
        inconsistency_rate=safe_share(sum(v.inconsistent for v in both), len(both)),
        first_position_preference=_first_position_preference(parsed),
        tie_rate=safe_share(sum(j.outcome == "tie" for j in parsed), len(parsed)),
        longer_wins_rate=_longer_wins_rate(verdicts, lengths),
        length_coefficient=slope,
        length_coefficient_ci=slope_ci,
        warnings=(),
    )
    warnings = (*_self_preference(judgments, models), *_rate_warnings(diagnostics))
    return dataclasses.replace(diagnostics, warnings=warnings)


def _first_position_preference(parsed: Sequence[Judgment]) -> float:
    decided = [j for j in parsed if j.outcome != "tie"]
    first_won = sum((j.outcome == "a") == (j.order == "ab") for j in decided)
    return safe_share(first_won, len(decided))


def _longer_wins_rate(verdicts: Sequence[Verdict], lengths: dict[LengthKey, int]) -> float:
    decided = 0
    longer_won = 0
    for verdict in verdicts:
        pair = verdict_lengths(verdict, lengths)
        if verdict.outcome in ("a", "b") and pair is not None and pair[0] != pair[1]:
            decided += 1
            longer_won += (verdict.outcome == "a") == (pair[0] > pair[1])
    return safe_share(longer_won, decided)


def _length_coefficient(
    verdicts: Sequence[Verdict], lengths: dict[LengthKey, int], n_boot: int, seed: int
) -> tuple[float, tuple[float, float]]:
    used = [(v, pair) for v in verdicts if v.outcome is not None and (pair := verdict_lengths(v, lengths))]
    if not used:
        return math.nan, (math.nan, math.nan)
    hundreds = np.array([(a - b) / 100.0 for _, (a, b) in used])
    scores = np.array([OUTCOME_SCORE[v.outcome] for v, _ in used if v.outcome is not None])
    point, samples = length_slope_fit(hundreds, scores, [v.prompt_id for v, _ in used], n_boot, seed)
    interval = percentile_interval(samples[:, 1], 0.95) if samples.size else (math.nan, math.nan)
    return float(point[1]), interval


def system_models_of(responses: Sequence[Response], given: Mapping[str, str]) -> dict[str, set[str]]:
    """System name -> the model specs and ids it was seen with (its name when none is known)."""
    models: dict[str, set[str]] = {system: {spec} for system, spec in given.items() if spec}
    for response in responses:
        if response.model_id:
            models.setdefault(response.system, set()).add(response.model_id)
    return models


def self_preference_families(
    judgments: Sequence[Judgment], models: Mapping[str, set[str]]
) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Model family -> (judge model specs, systems) where a judge and judged systems share a family.

    Args:
        judgments: One judge's pairwise judgments (their provenance names its model).
        models: System name -> its model specs and ids (see ``judge_diagnostics``).

    """
    judge_specs = {
        spec
        for j in judgments
        if j.provenance is not None
        for spec in (j.provenance.model_spec, j.provenance.model_id)
        if spec
    }
    judge_families = {model_family(spec) for spec in judge_specs} - {""}
    found: dict[str, list[str]] = {}
    for system in dict.fromkeys(name for j in judgments for name in (j.model_a, j.model_b)):
        for family in sorted(
            judge_families & {model_family(spec) for spec in models.get(system) or {system}}
        ):
            found.setdefault(family, []).append(system)
    specs = tuple(sorted(judge_specs))
    return {family: (tuple(s for s in specs if model_family(s) == family), tuple(systems))
            for family, systems in found.items()}  # fmt: skip


SELF_PREFERENCE_PREFIX = "possible self-preference"
"""How a self-preference warning starts (the report lists those once per model family)."""


def _self_preference(judgments: Sequence[Judgment], models: Mapping[str, set[str]]) -> list[str]:
    """One warning per model family the judge shares with judged systems, listing those systems."""
    return [
        f"{SELF_PREFERENCE_PREFIX}: the judge ({', '.join(specs)}) and "
        f"{'system' if len(systems) == 1 else 'systems'} {', '.join(map(repr, systems))} "
        f"are all {family} models"
        for family, (specs, systems) in self_preference_families(judgments, models).items()
    ]


def _rate_warnings(d: JudgeDiagnostics) -> list[str]:
    warnings = []
    if d.judgments >= MIN_JUDGMENTS_FOR_RATE_WARNINGS and d.unparsed_rate > HIGH_UNPARSED_RATE:
        warnings.append(f"{d.unparsed_rate:.0%} of judgments could not be parsed")
    if d.pairs >= MIN_JUDGMENTS_FOR_RATE_WARNINGS and d.position_flip_rate > HIGH_FLIP_RATE:
        warnings.append(f"position flips: {d.position_flip_rate:.0%} of both-order verdicts changed winner")
    if d.judgments >= MIN_JUDGMENTS_FOR_RATE_WARNINGS:
        if abs(d.first_position_preference - 0.5) > POSITION_BIAS_MARGIN:
            warnings.append(f"position bias: the first-shown response won {d.first_position_preference:.0%}")
        if d.tie_rate > HIGH_TIE_RATE:
            warnings.append(f"the judge called {d.tie_rate:.0%} of judgments a tie")
        if abs(d.longer_wins_rate - 0.5) > LONGER_WINS_MARGIN:
            warnings.append(
                f"length bias: the longer response won {d.longer_wins_rate:.0%} of decided verdicts"
            )
    return warnings
