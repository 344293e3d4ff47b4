"""Turn lists of result dataclasses into pandas DataFrames for notebooks and reports."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pandas as pd


def to_frame(items: Sequence[Any]) -> pd.DataFrame:
    """One row per result dataclass; dict and tuple fields stay as Python objects.

    Args:
        items: Instances of one of the stats result dataclasses (may be empty).

    Returns:
        A DataFrame whose columns are the dataclass fields, in declaration order.

    """
    rows = [{f.name: getattr(item, f.name) for f in dataclasses.fields(item)} for item in items]
    if rows:
        return pd.DataFrame.from_records(rows, columns=list(rows[0]))
    return pd.DataFrame()
