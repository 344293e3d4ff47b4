"""Shared pieces of the vLLM tests and benchmark: prompts and a greedy-agreement measure."""

from __future__ import annotations

from collections.abc import Sequence

AGREEMENT_PROMPTS: tuple[str, ...] = (
    "The capital of France is",
    "Here is a recipe for pancakes:",
    "The three primary colors are",
    "Water boils at a temperature of",
    "In 1969, the first humans to walk on the Moon were",
    "A good way to learn a new language is to",
    "The largest planet in our solar system is",
    "def fibonacci(n):\n",
    "Photosynthesis is the process by which plants",
    "The main difference between a virus and a bacterium is",
    "Once upon a time, in a small village by the sea,",
    "To change a flat tire, first you need to",
    "The French Revolution began in the year",
    "Dear hiring manager, I am writing to apply for",
    "The human heart has four chambers:",
    "A haiku about autumn:\n",
    "The speed of light in a vacuum is approximately",
    "Three tips for staying healthy are",
    "Shakespeare wrote many plays, including",
    "The stock market is",
)


def leading_agreement(first: Sequence[int], second: Sequence[int], length: int) -> float:
    """Fraction of the first ``length`` tokens that two sequences share before they first differ.

    Sequences that end early and identically (both stopped) count as full agreement.
    """
    a, b = list(first[:length]), list(second[:length])
    shared = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            return shared / length
        shared += 1
    if len(a) == len(b):
        return 1.0
    return shared / length
