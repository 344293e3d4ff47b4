"""Token distribution shift section: class shares per split, shift by position, shifted tokens, examples."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from evalkit.analysis.shift_records import ShiftAnswer
from evalkit.records import Prompt
from evalkit.report.charts import Bar, Panel, position_share_svg, stacked_bars_svg
from evalkit.report.groups import ALL, group_name, splits_to_show
from evalkit.report.pairwise_view import StatSettings
from evalkit.stats.shift import (
    SHIFT_CLASSES,
    PositionShift,
    ShiftClass,
    ShiftedToken,
    ShiftShares,
    classify,
    scored,
    shift_by_position,
    shift_shares,
    top_shifted_tokens,
)

SHIFT_COLORS = ("#e2e8f0", "#fbbf24", "#ef4444")
"""Unshifted, marginal, shifted (the example view uses the same colours)."""
EXAMPLES_SHOWN = 12
TOP_TOKENS = 20


@dataclass(frozen=True, slots=True)
class ShownToken:
    """One token of an example answer, with what the base model made of it."""

    text: str
    kind: ShiftClass
    rank: int
    probability: float
    base_choice: str


@dataclass(frozen=True, slots=True)
class ShiftExample:
    """One aligned answer, token by token."""

    prompt_id: str
    group: str
    tokens: tuple[ShownToken, ...]
    shifted_share: float


@dataclass(frozen=True, slots=True)
class Figure:
    """One inline SVG chart."""

    chart: str


@dataclass(frozen=True, slots=True)
class ShiftPair:
    """The analysis of one (base, aligned) pair."""

    base: str
    aligned: str
    shares: tuple[ShiftShares, ...]
    positions: tuple[PositionShift, ...]
    top_tokens: tuple[ShiftedToken, ...]
    examples: tuple[ShiftExample, ...]
    answers: int
    errors: tuple[ShiftAnswer, ...]
    figures: tuple[Figure, ...]


@dataclass(frozen=True, slots=True)
class ShiftSection:
    """Every analysed pair of the run (empty when the run has no shift analysis)."""

    pairs: tuple[ShiftPair, ...]
    classes: tuple[ShiftClass, ...] = SHIFT_CLASSES
    colors: tuple[str, ...] = SHIFT_COLORS


def build_shift(
    answers: Sequence[ShiftAnswer],
    prompts: Sequence[Prompt],
    settings: StatSettings,
    *,
    charts: bool = True,
) -> ShiftSection:
    """The shift section for every (base, aligned) pair found in the records."""
    pairs = list(dict.fromkeys((a.base, a.aligned) for a in answers))
    by_id = {p.id: p for p in prompts}
    groups = [ALL, *splits_to_show(prompts)]
    return ShiftSection(
        tuple(
            _pair(
                number, [a for a in answers if (a.base, a.aligned) == pair], by_id, groups, settings, charts
            )
            for number, pair in enumerate(pairs)
        )
    )


def _pair(
    number: int,
    answers: list[ShiftAnswer],
    prompts: Mapping[str, Prompt],
    groups: list[str],
    settings: StatSettings,
    charts: bool,
) -> ShiftPair:
    base, aligned = answers[0].base, answers[0].aligned
    seed, n_boot = settings.seed, settings.n_boot
    shares = shift_shares(answers, prompts, by="all", seed=seed, n_boot=n_boot)
    if len(groups) > 1:
        shares += shift_shares(answers, prompts, by="split", seed=seed, n_boot=n_boot)
    shares.sort(key=lambda s: groups.index(s.group) if s.group in groups else len(groups))
    positions = shift_by_position(answers, seed=seed, n_boot=n_boot)
    return ShiftPair(
        base=base,
        aligned=aligned,
        shares=tuple(shares),
        positions=tuple(positions),
        top_tokens=tuple(top_shifted_tokens(answers, TOP_TOKENS)),
        examples=tuple(_examples(answers, prompts)),
        answers=len(answers),
        errors=tuple(a for a in answers if a.error is not None),
        figures=_figures(shares, positions, f"shift-{number}") if charts else (),
    )  # fmt: skip


def _figures(
    shares: Sequence[ShiftShares], positions: Sequence[PositionShift], chart_id: str
) -> tuple[Figure, ...]:
    figures = [Figure(_shares_chart(shares, chart_id))] if shares else []
    if positions:
        labels, points = [p.label for p in positions], [p.shifted_share for p in positions]
        ylabel = "Shifted share of the tokens at these positions"
        chart = position_share_svg(f"{chart_id}-pos", labels, points, [p.ci for p in positions], ylabel)
        figures.append(Figure(chart))
    return tuple(figures)


def _shares_chart(shares: Sequence[ShiftShares], chart_id: str) -> str:
    bars = tuple(
        Bar(
            group_name(s.group),
            tuple(s.shares[c] for c in SHIFT_CLASSES),
            f"{s.tokens} tokens, {s.answers} answers",
        )
        for s in shares
    )
    return stacked_bars_svg(chart_id, [Panel("Token positions by class", bars)], SHIFT_CLASSES, SHIFT_COLORS)


def _examples(answers: Sequence[ShiftAnswer], prompts: Mapping[str, Prompt]) -> list[ShiftExample]:
    """The first answers in prompt order, so the same run always shows the same examples."""
    examples = []
    for answer in scored(answers)[:EXAMPLES_SHOWN]:
        tokens = tuple(
            ShownToken(text, classify(rank), rank, math.exp(logprob), top)
            for text, rank, logprob, top in zip(
                answer.tokens, answer.ranks, answer.logprobs, answer.top_tokens, strict=True
            )
        )
        shifted = sum(t.kind == "shifted" for t in tokens)
        prompt = prompts.get(answer.prompt_id)
        split = prompt.split if prompt is not None else ""
        examples.append(
            ShiftExample(answer.prompt_id, split, tokens, shifted / len(tokens) if tokens else 0.0)
        )
    return examples
