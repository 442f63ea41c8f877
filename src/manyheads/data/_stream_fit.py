"""Fit a :class:`TablePreprocessor` in one streaming pass over a :class:`ParquetSource`.

What each column and task learns, and how it compares to fitting on the whole frame in memory:

* numeric inputs, regression labels: count, mean and sum of squared deviations per chunk,
  merged with Chan et al.'s parallel update (float64); equal to the in-memory mean/std up to
  float64 rounding (the summation order differs, ~1e-15 relative);
* categorical inputs: exact counts of every value; past ``2 × max_categories`` distinct values
  the rarest are dropped down to ``max_categories`` (a heavy-hitters approximation), and the
  ``max_categories`` most frequent values are kept (ties: first seen); identical to the
  in-memory vocabulary when a column has at most ``max_categories`` values;
* text and tokens inputs: their tokenisers are trained on a uniform sample of ``sample_rows``
  rows (bottom-k of a seeded random key per row, kept in file order); identical to the
  in-memory fit when the table has at most ``sample_rows`` rows;
* binary and multiclass labels: the distinct labels of all chunks; multilabel: checked per
  chunk. ``class_weight: balanced``, tagging and box tasks, and image inputs are not streamed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from manyheads.data._columns._categorical import CategoricalColumn
from manyheads.data._columns._numeric import NumericColumn, numeric_values
from manyheads.data._columns._text import TextColumn
from manyheads.data._parquet import ParquetSource, RowGroup, row_numbers
from manyheads.data._stream_summaries import Moments, RowSample, ValueCounts
from manyheads.data.preprocess import TablePreprocessor
from manyheads.errors import DataError, InvalidParameterError
from manyheads.tasks._base import missing_mask
from manyheads.tasks._fitted import fit_task
from manyheads.tasks._registry import get_task_type
from manyheads.tasks._valued import ValuedTaskType
from manyheads.tasks.task import Task

__all__ = ["STREAMED_TASK_TYPES", "Moments", "StreamFit", "fit_streaming"]

#: task types whose label state can be learnt in a streaming pass.
STREAMED_TASK_TYPES = ("binary", "multiclass", "multilabel", "regression")


@dataclass
class StreamFit:
    """What the pass learnt besides the preprocessor's states: rows read, the sample and the
    categorical columns that hit ``max_categories``."""

    n_rows: int = 0
    sample: pd.DataFrame | None = None
    capped: dict[str, int] = field(default_factory=dict)


def check_streamable(pre: TablePreprocessor) -> None:
    """Refuse inputs and tasks that a streaming pass cannot fit (naming the way out)."""
    for col, kind in pre.inputs.items():
        if kind == "image":
            raise InvalidParameterError(
                f"The image input '{col}' cannot be streamed (data.stream): read the table "
                "whole with data.stream: false, or drop the input."
            )
    for task in pre.tasks:
        if task.type not in STREAMED_TASK_TYPES:
            raise InvalidParameterError(
                f"The {task.type} task '{task.name}' cannot be streamed (data.stream); the "
                f"streamed task types are {', '.join(STREAMED_TASK_TYPES)}. Read the table "
                "whole with data.stream: false."
            )
        if task.class_weight == "balanced":
            raise InvalidParameterError(
                f"class_weight: balanced of task '{task.name}' needs the class counts of the "
                "whole table and is not streamed (data.stream): set the task's class_weight "
                "to none, or read the table whole with data.stream: false."
            )


def fit_streaming(
    pre: TablePreprocessor,
    source: ParquetSource,
    groups: list[RowGroup],
    *,
    keep: Callable[[np.ndarray], np.ndarray] | None = None,
    max_categories: int,
    sample_rows: int,
    seed: int = 0,
) -> StreamFit:
    """Fit ``pre`` on the rows of ``groups`` in one pass (the rows ``keep(rows)`` marks True).

    Args:
        pre: the unfitted preprocessor.
        source: the Parquet files.
        groups: the row groups of the training rows.
        keep: global row numbers -> True for training rows (None: all).
        max_categories: most values a categorical column keeps (the most frequent).
        sample_rows: rows sampled uniformly for the text tokenisers (and returned).
        seed: seed of the sample.

    Raises:
        InvalidParameterError: an input kind or task that is not streamed.
        DataError: a bad cell (naming its file, row and column), or no training row.
    """
    check_streamable(pre)
    columns = _columns(pre, source)
    numeric = {c.column: Moments() for c in pre.column_encoders if isinstance(c, NumericColumn)}
    missing = dict.fromkeys(numeric, False)
    counts = {
        c.column: ValueCounts(max_categories)
        for c in pre.column_encoders
        if isinstance(c, CategoricalColumn)
    }
    labels = _LabelFit(pre.tasks)
    sample = RowSample(sample_rows, seed)
    out = StreamFit()
    for frame in source.frames(groups, columns):
        rows = row_numbers(frame)
        if keep is not None:
            mask = keep(rows)
            frame, rows = frame[mask], rows[mask]
        if not len(frame):
            continue
        path = str(frame.attrs["path"])
        out.n_rows += len(frame)
        for column in pre.column_encoders:
            column.check(frame, path)
        for col, moments in numeric.items():
            values, miss = numeric_values(frame, col, path)
            moments.update(values[~miss])
            missing[col] = missing[col] or bool(miss.any())
        for col, count in counts.items():
            count.add(frame[col])
        labels.add(frame, path)
        sample.add(frame, rows)
    if out.n_rows == 0:
        raise DataError("no training row in the Parquet files.", path=source.path)
    out.sample = sample.frame(source.path)
    _set_states(pre, out, numeric, missing, counts, source.path)
    pre.task_states_ = labels.states(source.path)
    pre.fitted_ = True
    return out


def _columns(pre: TablePreprocessor, source: ParquetSource) -> list[str]:
    wanted = list(dict.fromkeys([*pre.inputs, *(c for t in pre.tasks for c in t.label_columns)]))
    absent = [c for c in wanted if c not in source.columns]
    if absent:
        raise DataError(
            f"the column(s) {absent} are missing. Columns present: "
            f"{', '.join(source.columns[:30])}.",
            path=source.path,
        )
    return wanted


def _set_states(
    pre: TablePreprocessor,
    out: StreamFit,
    numeric: dict[str, Moments],
    missing: dict[str, bool],
    counts: dict[str, ValueCounts],
    path: str,
) -> None:
    assert out.sample is not None
    for column in pre.column_encoders:
        name = column.column
        if isinstance(column, NumericColumn):
            m = numeric[name]
            mean, std = (m.mean, m.std) if m.n else (0.0, 1.0)
            if not (np.isfinite(mean) and np.isfinite(std)):
                raise DataError(
                    "the column's mean or standard deviation overflows to infinity. Rescale "
                    "the column (e.g. to other units or a logarithm).",
                    path=path,
                    column=name,
                )
            column.load({"mean": mean, "std": std if std > 0 else 1.0, "indicator": missing[name]})
        elif isinstance(column, CategoricalColumn):
            column.load(counts[name].vocabulary())
            if counts[name].pruned:
                out.capped[name] = counts[name].cap
        elif isinstance(column, TextColumn):
            column.fit(out.sample, path)


class _LabelFit:
    """Label states learnt chunk by chunk: the moments of regression labels, the distinct
    label rows of the other types (each chunk's cells are checked where they are read)."""

    def __init__(self, tasks: list[Task]) -> None:
        self.tasks = tasks
        self.distinct: dict[str, list[pd.DataFrame]] = {t.name: [] for t in tasks}
        self.moments = {t.name: Moments() for t in tasks if t.type == "regression"}

    def add(self, frame: pd.DataFrame, path: str) -> None:
        for task in self.tasks:
            task_type = get_task_type(task.type)
            if isinstance(task_type, ValuedTaskType):
                values, labelled = task_type._values(task, frame, path)  # checks the cells
                if task.name in self.moments:
                    self.moments[task.name].update(np.asarray(values, np.float64)[labelled])
                    continue
            elif (~missing_mask(frame[task.label_columns[0]])).any():
                fit_task(task, frame, path)  # checks the chunk's labels (e.g. a third class)
            self.distinct[task.name].append(frame[list(task.label_columns)].drop_duplicates())

    def states(self, path: str) -> dict[str, dict[str, Any]]:
        states: dict[str, dict[str, Any]] = {}
        for task in self.tasks:
            if task.name in self.moments:
                m = self.moments[task.name]
                if not m.n:
                    raise DataError(
                        f"regression task '{task.name}' has no labelled row in the training data.",
                        path=path,
                        column=task.label_columns[0],
                    )
                states[task.name] = {"mean": m.mean, "std": m.std if m.std > 0 else 1.0}
                continue
            parts = self.distinct[task.name]
            distinct = pd.concat(parts).drop_duplicates() if len(parts) > 1 else parts[0]
            distinct.attrs.update(path=path, row_word="row")
            states[task.name] = fit_task(task, distinct, path).state
        return states
