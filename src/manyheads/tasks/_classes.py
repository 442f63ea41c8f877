"""Class-label vocabulary shared by the binary and multiclass task types."""

from __future__ import annotations

import numpy as np
import pandas as pd

from manyheads.errors import DataError
from manyheads.tasks._base import first_line, label_strings, missing_mask
from manyheads.tasks.task import Task

__all__ = ["encode_classes", "fit_classes"]


def _sort_key(label: str) -> tuple[int, float, str]:
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def fit_classes(task: Task, series: pd.Series, path: str) -> list[str]:
    """Sorted class names (numbers in numeric order) seen in the labelled training rows."""
    missing = missing_mask(series)
    labels = label_strings(series[~missing])
    if labels.empty:
        raise DataError(
            f"task '{task.name}' has no labelled row in the training data. "
            "Fill the column or remove the task.",
            path=path,
            column=task.label_columns[0],
        )
    return sorted(labels.unique().tolist(), key=_sort_key)


def encode_classes(
    task: Task, classes: list[str], series: pd.Series, path: str, frame: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Class names -> (int64 indices with -1 for missing, labelled mask)."""
    missing = missing_mask(series)
    lookup = {c: i for i, c in enumerate(classes)}
    labels = label_strings(series.where(~missing, other=""))
    idx = labels.map(lookup).to_numpy()
    unseen = ~missing & pd.isna(idx)
    if unseen.any():
        bad = labels.to_numpy()[np.flatnonzero(unseen)[0]]
        raise DataError(
            f"class '{bad}' of task '{task.name}' was never seen in the training data "
            f"(known classes: {', '.join(classes[:20])}). Add rows with this class to the "
            "training data, or clear/relabel this cell.",
            path=path,
            line=first_line(frame, unseen),
            column=task.label_columns[0],
        )
    out = np.where(missing, -1, np.nan_to_num(idx.astype(float), nan=-1)).astype(np.int64)
    return out, ~missing
