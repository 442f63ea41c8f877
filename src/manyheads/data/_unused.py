"""Columns a plain config does not use as inputs (empty ones, named row ids), and suspects.

When a config names no ``inputs``, every column but the labels becomes an input
(:func:`manyheads.workflow._inferred.infer_inputs`). Two kinds of column would only harm there:
one with no value in train (nothing to learn), and a row id — every value distinct — which a
model can only memorise, and which leaks the label when the file is sorted by it (R datasets'
``rownames`` of a table ordered by a target; pandas' ``Unnamed: 0`` of a frame saved with its
index). A column is left out as a row id only when its name says so too; one that merely looks
like an id (distinct running numbers, distinct one-word codes) is used, with a warning.
Listing a column under ``inputs`` uses it without a word.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from manyheads.tasks._base import missing_mask

__all__ = ["ID_NAME", "MIN_ID_ROWS", "column_note"]

#: A table needs at least this many rows before a column is called a row id.
MIN_ID_ROWS = 20
#: Names of row-id columns: `rownames`, `id`, `index`, `Unnamed: 0`, `row_id`, `user id`...
ID_NAME = re.compile(
    r"^(rownames|row ?names|index|idx|id|row|row[ _.-]?(id|no|num|number)|unnamed: ?\d+)$"
    r"|[ _.-]id$",
    re.IGNORECASE,
)
#: Why a row id is left out, or looks like one.
DISTINCT = "every value distinct, as in a row id"


def column_note(name: str, series: pd.Series) -> tuple[str, bool] | None:
    """What to say of an inferred input column: (why, left out?), or None for a plain input.

    Example:
        >>> column_note("empty", pd.Series([np.nan] * 3))
        ('empty in train', True)
        >>> ids = pd.Series(np.random.default_rng(0).permutation(50) + 1)
        >>> column_note("rownames", ids)
        ('every value distinct, as in a row id', True)
        >>> column_note("x", ids)  # used, with a warning
        ('every value distinct, as in a row id', False)
        >>> column_note("code", pd.Series([f"A-{i}" for i in range(30)]))
        ('every value distinct, as in a row id', False)
        >>> column_note("x", pd.Series(np.linspace(0.0, 1.0, 50))) is None  # a measurement
        True
        >>> column_note("year", pd.Series(np.arange(1990, 2020))) is None
        True
        >>> column_note("title", pd.Series([f"a title {i}" for i in range(30)])) is None
        True
    """
    present = series[~missing_mask(series)]
    if present.empty:
        return "empty in train", True
    if not _looks_like_an_id(series, present):
        return None
    return DISTINCT, bool(ID_NAME.search(str(name).strip()))


def _looks_like_an_id(series: pd.Series, present: pd.Series) -> bool:
    n = len(series)
    if n < MIN_ID_ROWS or len(present) < n or not _all_distinct(present):
        return False
    if pd.api.types.is_bool_dtype(present.dtype):
        return False
    if pd.api.types.is_numeric_dtype(present.dtype):
        values = present.to_numpy(dtype=np.float64)
        integral = bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))
        # a running number: distinct counts from about 0 up to a few times the rows (a year
        # column or prices in cents are not: their values sit far above the row count)
        return integral and values.min() >= 0 and values.max() <= 3 * n
    return bool((present.astype(str).str.split().str.len() <= 1).all())


def _all_distinct(values: pd.Series) -> bool:
    try:
        return bool(values.nunique(dropna=True) == len(values))
    except TypeError:  # unhashable cells (lists, arrays): images or tokens, never an id
        return False
