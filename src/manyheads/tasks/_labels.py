"""Reading label cells: missing cells, canonical label strings, errors naming file/line/column.

Data frames carry the 1-based line of each row in the source file as their index (see
:mod:`manyheads.data.io`), so errors can name the line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from manyheads.errors import DataError
from manyheads.tasks.task import Task

__all__ = [
    "column_of",
    "first_line",
    "label_error",
    "label_string",
    "label_strings",
    "missing_cell",
    "missing_mask",
]


def missing_mask(series: pd.Series) -> np.ndarray:
    """True where a label cell is missing: NaN/None or an empty / whitespace-only string."""
    isna = series.isna().to_numpy()
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        blank = series.astype("string").str.strip().eq("").fillna(False).to_numpy(dtype=bool)
        return np.asarray(isna | blank, dtype=bool)
    return np.asarray(isna, dtype=bool)


def label_strings(series: pd.Series) -> pd.Series:
    """Class labels as canonical strings: 1.0 -> "1", True -> "True", " a " -> "a".

    Vectorised per dtype, so encoding a large categorical column costs no Python loop per row.

    Example:
        >>> label_strings(pd.Series([1.0, 2.5])).tolist()
        ['1', '2.5']
    """
    if isinstance(series.dtype, pd.StringDtype):  # pandas' own string dtype: no mixed types
        return series.str.strip().astype(object).where(series.notna(), "nan")
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype(str)
    if pd.api.types.is_integer_dtype(series.dtype):
        return series.astype(str)
    if pd.api.types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        whole = np.isfinite(values) & (np.floor(values) == values)
        text = series.astype(str)
        ints = pd.Series(np.where(whole, values, 0).astype(np.int64), index=series.index)
        return text.where(~whole, ints.astype(str))

    if series.map(type).eq(str).all():
        return series.astype(str).str.strip()
    return series.map(label_string)


def label_string(value: object) -> str:
    """One cell of an ``object`` column as :func:`label_strings` writes it.

    Example:
        >>> label_string(2.0), label_string(True), label_string(" a ")
        ('2', 'True', 'a')
    """
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def missing_cell(value: object) -> bool:
    """One cell of an ``object`` column as :func:`missing_mask` sees it: NaN/None/NA, or text
    that is blank once stripped.

    Example:
        >>> missing_cell(None), missing_cell(float("nan")), missing_cell("  "), missing_cell(0)
        (True, True, True, False)
    """
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return True
    return str(value).strip() == ""


def column_of(task: Task, frame: pd.DataFrame, path: str) -> pd.Series:
    """The single label column of ``task`` or a DataError naming the file and column."""
    col = task.label_columns[0]
    if col not in frame.columns:
        raise DataError(
            f"the label column '{col}' of task '{task.name}' is missing. "
            f"Columns present: {', '.join(map(str, frame.columns[:30]))}. "
            "Fix the task's 'column' or the file.",
            path=path,
        )
    return frame[col]


def first_line(frame: pd.DataFrame, positions: np.ndarray) -> int | None:
    """The source line of the first row flagged in the boolean array ``positions``."""
    idx = np.flatnonzero(positions)
    if len(idx) == 0:
        return None
    label = frame.index[int(idx[0])]
    return int(label) if isinstance(label, int | np.integer) else None


def label_error(
    task: Task, message: str, frame: pd.DataFrame, path: str, rows: np.ndarray
) -> DataError:
    """A DataError for ``task``'s label column at the line of the first row flagged in ``rows``.

    Example:
        >>> frame, rows = pd.DataFrame({"y": [1.0, "x"]}, index=[2, 3]), np.array([False, True])
        >>> str(label_error(Task("y", type="regression"), "bad label.", frame, "a.csv", rows))
        "a.csv, line 3, column 'y': bad label."
    """
    line = first_line(frame, rows)
    return DataError(message, path=path, line=line, column=task.label_columns[0])
