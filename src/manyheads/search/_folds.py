"""K folds of the search rows: stratified over several label columns (iterative stratification,
Sechidis et al. 2011), grouped by a column, or forward-chaining over a time column."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from manyheads._registry import did_you_mean
from manyheads.errors import DataError, InvalidParameterError

__all__ = ["FoldPlan", "make_folds"]


@dataclass(frozen=True)
class FoldPlan:
    """How the rows are cut into folds (``--cv``, ``--group-by``, ``--time-column``).

    Args:
        k: the number of folds (>= 2).
        stratify: label columns the folds keep in proportion (empty: plain shuffled folds).
        group_by: rows sharing a value of this column stay in one fold.
        time_column: forward chaining: fold i trains on the first i + 1 of k + 1 time-ordered
            blocks and validates on the next one.
        seed: the shuffling seed.
    """

    k: int
    stratify: tuple[str, ...] = ()
    group_by: str | None = None
    time_column: str | None = None
    seed: int = 0

    def describe(self) -> str:
        """One line for the report."""
        if self.time_column:
            return f"{self.k} forward-chaining folds over '{self.time_column}'"
        if self.group_by:
            return f"{self.k} grouped folds by '{self.group_by}'"
        if self.stratify:
            return f"{self.k} folds stratified over {', '.join(self.stratify)}"
        return f"{self.k} shuffled folds"


def make_folds(frame: pd.DataFrame, plan: FoldPlan) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train positions, validation positions) of each fold of ``frame``.

    Example:
        >>> frame = pd.DataFrame({"y": [0, 1] * 10, "g": list("aabbccddee") * 2})
        >>> folds = make_folds(frame, FoldPlan(k=2, stratify=("y",)))
        >>> [int(frame.y.iloc[v].sum()) for _, v in folds]
        [5, 5]
    """
    if plan.k < 2:
        raise InvalidParameterError(f"--cv must be an int >= 2 (folds); got {plan.k}.")
    path = str(frame.attrs.get("path", "<train>"))
    for column in (*plan.stratify, plan.group_by, plan.time_column):
        if column is not None and column not in frame.columns:
            names = list(map(str, frame.columns))
            raise DataError(
                f"column '{column}' for the folds not found.{did_you_mean(column, names)}",
                path=path,
            )
    if plan.time_column:
        return _forward(frame, plan, path)
    if len(frame) < plan.k:
        raise DataError(f"--cv {plan.k} needs at least {plan.k} rows; got {len(frame)}.", path=path)
    if plan.group_by:
        return _grouped(frame, plan, path)
    if plan.stratify:
        return _stratified(frame, plan.stratify, plan)
    from sklearn.model_selection import KFold

    folds = KFold(plan.k, shuffle=True, random_state=plan.seed).split(np.zeros(len(frame)))
    return [(a, b) for a, b in folds]


def _grouped(frame: pd.DataFrame, plan: FoldPlan, path: str) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import GroupKFold

    assert plan.group_by is not None
    groups = frame[plan.group_by].astype(str).to_numpy()
    n_groups = len(set(groups))
    if n_groups < plan.k:
        raise DataError(
            f"--group-by {plan.group_by}: {n_groups} groups cannot fill {plan.k} folds; lower "
            "--cv or group by another column.",
            path=path,
            column=plan.group_by,
        )
    splitter = GroupKFold(plan.k, shuffle=True, random_state=plan.seed)
    return [(a, b) for a, b in splitter.split(np.zeros(len(frame)), groups=groups)]


def _forward(frame: pd.DataFrame, plan: FoldPlan, path: str) -> list[tuple[np.ndarray, np.ndarray]]:
    assert plan.time_column is not None
    times = frame[plan.time_column]
    if times.isna().any():
        line = int(np.flatnonzero(times.isna().to_numpy())[0])
        raise DataError(
            f"--time-column {plan.time_column}: a missing time at row {line}; every row needs one.",
            path=path,
            column=plan.time_column,
        )
    order = np.argsort(_sortable(times).to_numpy(), kind="stable")
    if len(frame) < plan.k + 1:
        raise DataError(
            f"--cv {plan.k} with --time-column needs at least {plan.k + 1} rows.", path=path
        )
    blocks = np.array_split(order, plan.k + 1)
    return [
        (np.sort(np.concatenate(blocks[: i + 1])), np.sort(blocks[i + 1])) for i in range(plan.k)
    ]


def _sortable(times: pd.Series) -> pd.Series:
    """Numbers as they are; anything else parsed as dates (ISO text sorts as written)."""
    if pd.api.types.is_numeric_dtype(times):
        return times
    parsed = pd.to_datetime(times, errors="coerce", utc=True)
    return parsed if not parsed.isna().any() else times.astype(str)


def _stratified(
    frame: pd.DataFrame, columns: Sequence[str], plan: FoldPlan
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Multilabel iterative stratification over one indicator per class of each column (a
    numeric column with many values: per quartile; a missing label: its own class)."""
    from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

    indicators = pd.concat([_indicators(frame[c]) for c in columns], axis=1).to_numpy()
    splitter = MultilabelStratifiedKFold(n_splits=plan.k, shuffle=True, random_state=plan.seed)
    return [(a, b) for a, b in splitter.split(np.zeros(len(frame)), indicators)]


def _indicators(column: pd.Series) -> pd.DataFrame:
    values = column
    if pd.api.types.is_numeric_dtype(column) and column.nunique() > 20:
        values = pd.qcut(column, 4, duplicates="drop").astype(str)
    labels = values.astype(str).where(column.notna(), "<missing>")
    return pd.get_dummies(labels, prefix=str(column.name)).astype(np.int8)
