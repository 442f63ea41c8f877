"""``numeric`` columns: standardised with the train mean and std, missing cells imputed.

A missing cell (empty or NaN) becomes the train mean; a column that had missing values in train
also gets a 0/1 missing indicator. ±inf and unparsable cells are DataErrors naming the cell
(docs/reliability.md, "Non-finite numbers").
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from manyheads.data._columns._base import ColumnEncoder, ColumnExample
from manyheads.data._spec import InputSpec
from manyheads.errors import DataError
from manyheads.tasks._base import first_line

__all__ = ["NumericColumn", "numeric_values"]

NumericState = dict[str, float | bool]


class NumericColumn(ColumnEncoder[NumericState]):
    """Standardise one numeric column; its state is ``{"mean", "std", "indicator"}``.

    Example:
        >>> col = NumericColumn("x", {})
        >>> col.fit(pd.DataFrame({"x": [1.0, 3.0, None]}), "<train>")
        >>> col.transform(pd.DataFrame({"x": [2.0, None]}), "<test>")["num"].tolist()
        [[0.0, 0.0], [0.0, 1.0]]
    """

    kind: ClassVar[str] = "numeric"
    section = "numeric"
    stage = 0
    example = ColumnExample(train=(1.0, 2.5, None, 4.0, 0.5), unseen=(1e6, -3.0))

    def check(self, frame: pd.DataFrame, path: str) -> None:
        """Parse the column (a DataError names a bad cell)."""
        numeric_values(frame, self.column, path)

    def fit(self, frame: pd.DataFrame, path: str) -> None:
        """Learn the train mean and std (std 0 becomes 1) and whether cells were missing."""
        values, missing = numeric_values(frame, self.column, path)
        observed = values[~missing]
        with np.errstate(over="ignore", invalid="ignore"):  # overflow: checked below
            mean = float(observed.mean()) if observed.size else 0.0
            std = float(observed.std()) if observed.size else 1.0
        _check_statistics(frame, self.column, path, values, missing, (mean, std))
        std = std if std > 0 else 1.0
        self.state_ = {"mean": mean, "std": std, "indicator": bool(missing.any())}

    def transform(self, frame: pd.DataFrame, path: str) -> dict[str, Tensor]:
        """``{"num": [N, 1]}`` standardised values, ``[N, 2]`` with the missing indicator."""
        st = self.fitted_state("transform")
        values, missing = numeric_values(frame, self.column, path)
        z = (np.where(missing, st["mean"], values) - st["mean"]) / st["std"]
        _check_float32(frame, self.column, path, z)
        blocks = [z, missing.astype(np.float64)] if st["indicator"] else [z]
        return {"num": torch.from_numpy(np.stack(blocks, axis=1).astype(np.float32))}

    def spec(self) -> InputSpec:
        """One numeric input, two with the missing indicator."""
        return InputSpec(2 if self.fitted_state("spec")["indicator"] else 1, (), ())


def numeric_values(frame: pd.DataFrame, col: str, path: str) -> tuple[np.ndarray, np.ndarray]:
    """(values with 0 where missing, missing mask). Empty and NaN cells are missing; ±inf
    is a DataError naming the cell (docs/reliability.md, "Non-finite numbers")."""
    series = frame[col]
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        refuse_inf(frame, col, path, values, "numeric input")
        return np.nan_to_num(values, nan=0.0), np.isnan(values)
    raw = series.astype("string").str.strip()
    empty = (raw.isna() | raw.eq("") | raw.str.lower().eq("nan")).to_numpy(dtype=bool)
    parsed = pd.to_numeric(raw.where(~pd.Series(empty, index=raw.index)), errors="coerce")
    values = parsed.to_numpy(dtype=float, na_value=np.nan)
    refuse_inf(frame, col, path, values, "numeric input")
    bad = ~np.isfinite(values) & ~empty
    if bad.any():
        cell = series.to_numpy()[np.flatnonzero(bad)[0]]
        raise DataError(
            f"numeric input expected, got {cell!r}. Fix the cell, leave it empty for a missing "
            f"value, or declare the column as categorical or text in 'inputs'.",
            path=path,
            line=first_line(frame, bad),
            column=col,
        )
    missing = ~np.isfinite(values)
    return np.nan_to_num(values, nan=0.0), missing


def refuse_inf(frame: pd.DataFrame, col: str, path: str, values: np.ndarray, what: str) -> None:
    """±inf in a numeric column is an error, never a missing value (one rule for every
    reader: docs/reliability.md, "Non-finite numbers")."""
    bad = np.isinf(values)
    if bad.any():
        raise DataError(
            f"{what} must be a finite number; got {values[np.flatnonzero(bad)[0]]}. Leave the "
            "cell empty (or NaN) for a missing value, or fix it.",
            path=path,
            line=first_line(frame, bad),
            column=col,
        )


def _check_statistics(
    frame: pd.DataFrame,
    col: str,
    path: str,
    values: np.ndarray,
    missing: np.ndarray,
    moments: tuple[float, float],
) -> None:
    """A finite value whose square overflows makes the column's std infinite: name it."""
    mean, std = moments
    if np.isfinite(mean) and np.isfinite(std):
        return
    magnitude = np.where(missing, 0.0, np.abs(values))
    largest = magnitude == magnitude.max()
    raise DataError(
        f"the value {values[np.flatnonzero(largest)[0]]:g} is too large: the column's "
        f"{'mean' if not np.isfinite(mean) else 'standard deviation'} overflows to infinity. "
        "Rescale the column (e.g. to other units or a logarithm) or fix the cell.",
        path=path,
        line=first_line(frame, largest),
        column=col,
    )


def _check_float32(frame: pd.DataFrame, col: str, path: str, z: np.ndarray) -> None:
    """A standardised value beyond float32's range would reach the model as ±inf."""
    bad = ~(np.abs(z) <= np.finfo(np.float32).max)
    if bad.any():
        raise DataError(
            "the value is too far from the training values: standardised, it overflows "
            "float32 (the model's precision). Fix the cell or rescale the column.",
            path=path,
            line=first_line(frame, bad),
            column=col,
        )
