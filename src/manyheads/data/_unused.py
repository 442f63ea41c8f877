"""Columns a plain config does not use as inputs: empty ones and row ids.

When a config names no ``inputs``, every column but the labels becomes an input
(:func:`manyheads.workflow._builders.infer_inputs`). Two kinds of column would only harm there: one
with no value in train (nothing to learn), and a row id — every value distinct, as a running
number or a code of one word — which a model can only memorise, and which leaks the label when
the file is sorted by it (R datasets' ``rownames`` of a table ordered by a target). They are
left out and named; listing them under ``inputs`` uses them anyway.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from manyheads.tasks._base import missing_mask

__all__ = ["MIN_ID_ROWS", "unused_reason"]

#: A column is called a row id only in a table of at least this many rows.
MIN_ID_ROWS = 20


def unused_reason(series: pd.Series) -> str | None:
    """Why an inferred input column is left out, or None to use it.

    Example:
        >>> unused_reason(pd.Series([np.nan] * 3))
        'empty in train'
        >>> unused_reason(pd.Series(np.random.default_rng(0).permutation(50) + 1))
        'every value distinct, as in a row id'
        >>> unused_reason(pd.Series([f"A-{i}" for i in range(30)]))
        'every value distinct, as in a row id'
        >>> unused_reason(pd.Series(np.linspace(0.0, 1.0, 50))) is None  # a measurement
        True
        >>> unused_reason(pd.Series(np.arange(1990, 2020))) is None  # years
        True
        >>> unused_reason(pd.Series([f"a title {i}" for i in range(30)])) is None  # text
        True
    """
    present = series[~missing_mask(series)]
    if present.empty:
        return "empty in train"
    n = len(series)
    if n < MIN_ID_ROWS or len(present) < n or not _all_distinct(present):
        return None
    if pd.api.types.is_bool_dtype(present.dtype):
        return None
    if pd.api.types.is_numeric_dtype(present.dtype):
        values = present.to_numpy(dtype=np.float64)
        integral = bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))
        # a running number: distinct counts from 0 or 1 up to a few times the rows (a year
        # column or prices in cents are not: their values sit far above the row count)
        if integral and values.min() >= 0 and values.max() <= 3 * n:
            return "every value distinct, as in a row id"
        return None
    words = present.astype(str).str.split().str.len()
    if bool((words <= 1).all()):
        return "every value distinct, as in a row id"
    return None


def _all_distinct(values: pd.Series) -> bool:
    try:
        return bool(values.nunique(dropna=True) == len(values))
    except TypeError:  # unhashable cells (lists, arrays): images or tokens, never an id
        return False
