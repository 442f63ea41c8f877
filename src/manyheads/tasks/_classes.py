"""Class-label vocabulary shared by the binary and multiclass task types, and their base class.

Classes are canonical strings (:func:`~manyheads.tasks._base.label_strings`); the state also
records the type of the training column (``label_type``) so that predictions come back as the
user's values: ints for an integer column, floats for a float one, booleans, else strings.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from manyheads.errors import DataError
from manyheads.tasks._base import (
    State,
    TaskType,
    as_tensor,
    check_loss,
    column_of,
    label_strings,
    masked_mean,
    missing_mask,
)
from manyheads.tasks._unseen import Unseen, unseen_labels
from manyheads.tasks.task import Task

__all__ = ["ClassTaskType", "class_values", "encode_classes", "fit_classes", "label_type"]


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


def label_type(series: pd.Series) -> str:
    """``int``, ``float``, ``bool`` or ``str``: the type of a label column's labelled values.

    Example:
        >>> label_type(pd.Series([0, 1])), label_type(pd.Series([0.0, 1.0, None]))
        ('int', 'float')
        >>> label_type(pd.Series([True, False])), label_type(pd.Series(["no", "yes"]))
        ('bool', 'str')
    """
    values = series[~missing_mask(series)]
    if pd.api.types.is_bool_dtype(values.dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(values.dtype):
        return "int"
    if pd.api.types.is_float_dtype(values.dtype):
        return "float"
    if len(values) and values.map(lambda v: isinstance(v, bool | np.bool_)).all():
        return "bool"
    if len(values) and values.map(lambda v: isinstance(v, int | np.integer)).all():
        return "int"
    return "str"


def class_values(classes: list[str], kind: str | None) -> np.ndarray:
    """The class names as values of the user's label type (``label_type``; None: strings, as
    in models saved before it was recorded).

    Example:
        >>> class_values(["0", "1"], "int").tolist(), class_values(["0", "1"], "float").tolist()
        ([0, 1], [0.0, 1.0])
        >>> class_values(["False", "True"], "bool").tolist(), class_values(["a"], None).tolist()
        ([False, True], ['a'])
    """
    if kind == "int":
        return np.asarray([int(c) for c in classes], dtype=np.int64)
    if kind == "float":
        return np.asarray([float(c) for c in classes], dtype=np.float64)
    if kind == "bool":
        return np.asarray([c == "True" for c in classes], dtype=bool)
    return np.asarray(classes, dtype=object)


def encode_classes(
    task: Task,
    classes: list[str],
    series: pd.Series,
    path: str,
    frame: pd.DataFrame,
    *,
    unseen: str = "warn",
) -> tuple[np.ndarray, np.ndarray]:
    """Class names -> (int64 indices, labelled mask).

    A missing cell is -1 with mask False; a class the training data never had (``unseen``
    ``warn``) is -1 with mask True, so that it counts as wrong in the metrics; with ``unseen``
    ``error`` it is a DataError naming the file, line and column.
    """
    missing = missing_mask(series)
    lookup = {c: i for i, c in enumerate(classes)}
    # object first: a nullable integer column (Int8 ...) cannot hold the "" of a missing cell
    labels = label_strings(series.astype(object).where(~missing, other=""))
    idx = labels.map(lookup).to_numpy()
    new = ~missing & pd.isna(idx)
    unseen_labels(
        task,
        Unseen(labels.to_numpy()[new].tolist(), new),
        frame,
        path,
        known=classes,
        word="class",
        unit="rows",
        mode=unseen,
    )
    out = np.nan_to_num(idx.astype(float), nan=-1).astype(np.int64)
    return out, ~missing


class ClassTaskType(TaskType):
    """A task type whose label is one class of a vocabulary learnt from the training column.

    Subclasses check the class count (:meth:`_check_classes`), compute balanced class weights
    (:meth:`_balanced`) and give the per-row loss (:meth:`_row_loss`); fitting, the loss-name
    check, encoding and the masking of the loss are shared.
    """

    #: the one loss name the type accepts.
    loss_name: ClassVar[str]
    #: the dtype of the encoded targets (float for one logit, int64 for class indices).
    target_dtype: ClassVar[torch.dtype]
    #: the state entry that holds the loss weights of ``class_weight: balanced``.
    weight_key: ClassVar[str]

    def check_task(self, task: Task) -> None:
        super().check_task(task)
        check_loss(self.name, task, (self.loss_name,))

    def fit(self, task: Task, frame: pd.DataFrame, path: str) -> State:
        classes = self._check_classes(
            task, fit_classes(task, column_of(task, frame, path), path), path
        )
        state: State = {"classes": classes, "label_type": label_type(frame[task.label_columns[0]])}
        if task.class_weight == "balanced":
            y, mask = encode_classes(task, classes, frame[task.label_columns[0]], path, frame)
            state[self.weight_key] = self._balanced(y[mask], len(classes))
        return state

    @abstractmethod
    def _check_classes(self, task: Task, classes: list[str], path: str) -> list[str]:
        """The fitted classes in head order, or a DataError when the type cannot use them."""

    @abstractmethod
    def _balanced(self, y: np.ndarray, n_classes: int) -> float | list[float]:
        """The loss weights under which the classes of the labels ``y`` count equally."""

    def encode(
        self, task: Task, state: State, frame: pd.DataFrame, path: str, *, unseen: str = "warn"
    ) -> tuple[Tensor, Tensor]:
        """Class targets; -1 for a class unseen in training (mask True: it counts as wrong)."""
        series = column_of(task, frame, path)
        y, mask = encode_classes(task, state["classes"], series, path, frame, unseen=unseen)
        return as_tensor(np.where(mask, y, 0), self.target_dtype), as_tensor(mask, torch.bool)

    def loss(
        self, task: Task, state: State, output: Tensor, target: Tensor, mask: Tensor
    ) -> Tensor:
        weights = state.get(self.weight_key)
        weight = None if weights is None else output.new_tensor(weights)
        per_row = self._row_loss(task, output, target.clamp(min=0), weight)
        return masked_mean(per_row, mask & (target >= 0))  # an unseen class (-1) has no loss

    @abstractmethod
    def _row_loss(
        self, task: Task, output: Tensor, target: Tensor, weight: Tensor | None
    ) -> Tensor:
        """The unreduced loss [N] of ``output`` against known-class ``target``, weighted."""
