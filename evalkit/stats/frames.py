"""Turn lists of result dataclasses into pandas DataFrames for notebooks and reports."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pandas as pd


def to_frame(items: Sequence[Any], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per result dataclass; dict and tuple fields stay as Python objects.

    Args:
        items: Instances of one of the stats result dataclasses (may be empty).
        columns: Only these fields, in this order, kept as columns even without items.

    Returns:
        A DataFrame whose columns are ``columns``, else the dataclass fields in declaration order.

    """
    if columns is not None:
        return pd.DataFrame([[getattr(item, c) for c in columns] for item in items], columns=list(columns))
    rows = [{f.name: getattr(item, f.name) for f in dataclasses.fields(item)} for item in items]
    if rows:
        return pd.DataFrame.from_records(rows, columns=list(rows[0]))
    return pd.DataFrame()
