"""The contract every task type implements: label encoding, head size, masked loss, metrics.

A task type is stateless; what it learns from the training labels (class names, target mean and
standard deviation) is a JSON-ready ``state`` dict stored in ``model.json`` so that prediction needs
nothing else. Reading label cells is :mod:`manyheads.tasks._labels`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from manyheads.errors import InvalidParameterError
from manyheads.tasks._labels import (
    column_of,
    first_line,
    label_error,
    label_string,
    label_strings,
    missing_cell,
    missing_mask,
)
from manyheads.tasks.task import Task

#: The label-cell helpers of :mod:`manyheads.tasks._labels` are re-exported: task types and the
#: data layer import them from here.
__all__ = [
    "UNSEEN_LABELS",
    "TaskExample",
    "TaskType",
    "column_of",
    "first_line",
    "label_error",
    "label_string",
    "label_strings",
    "masked_mean",
    "missing_cell",
    "missing_mask",
]

#: What ``encode`` does with a label (class, tag) that the training data never had: ``warn``
#: (a :class:`~manyheads.errors.DataWarning`; the label is kept as target ``-1`` with its mask
#: True, so it counts as wrong in the metrics and is left out of the loss) or ``error`` (a
#: DataError). The ``data.unseen_labels`` setting (docs/config.md).
UNSEEN_LABELS = ("warn", "error")

State = dict[str, Any]


def masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``values`` [N] over ``mask`` [N]; 0 (still in the graph) when nothing is labelled.

    Example:
        >>> masked_mean(torch.tensor([1.0, 3.0, 9.0]), torch.tensor([True, True, False]))
        tensor(2.)
        >>> masked_mean(torch.tensor([1.0]), torch.tensor([False]))
        tensor(0.)
    """
    m = mask.to(values.dtype)
    return (values * m).sum() / m.sum().clamp(min=1.0)


@dataclass(frozen=True)
class TaskExample:
    """A few labelled rows of a task type, what the contract battery runs every type on
    (``tests/contract/test_task_types.py``: fit, encode, loss, metrics, head shape, no labels).

    Attributes:
        cells: label column -> one labelled cell per row (the battery adds an unlabelled row).
        fields: the :class:`Task` fields the example needs beyond its name, type and columns.
    """

    cells: dict[str, tuple[object, ...]]
    fields: dict[str, object] = field(default_factory=dict)


#: The task fields only some types take, with their defaults: a type lists the ones it takes in
#: ``extra_fields`` (``loss: mse`` on a multilabel task was accepted and ignored before).
OPTIONAL_FIELDS: dict[str, object] = {
    "loss": None,
    "label_smoothing": 0.0,
    "class_weight": None,
    "positive": None,
    "scheme": None,
    "crf": False,
    "image_size": None,
    "threshold": None,
}


class TaskType(ABC):
    """One task type (``binary``, ``multiclass`` ...). Subclasses are registered by name."""

    name: ClassVar[str]
    #: ``row``: one output per row; ``token``: one output per token of a ``tokens`` input
    #: (the model's output ``[B, W, C]``, its target and mask ``[B, W]``).
    level: ClassVar[str] = "row"
    #: Task fields beyond the common ones that this type accepts (``loss``, ``scheme`` ...); a
    #: task that sets any other of :data:`OPTIONAL_FIELDS` to a non-default value is refused.
    extra_fields: ClassVar[tuple[str, ...]] = ()
    #: True for types whose labels span several ``columns`` (multilabel, box); their own
    #: ``check_task`` checks the columns, the base class the rest.
    multi_column: ClassVar[bool] = False
    #: metric name -> higher is better; the first entry is the default primary metric.
    metric_directions: ClassVar[dict[str, bool]]
    summary: ClassVar[str]
    #: labelled rows every registered type is tested on (docs/extending.md).
    example: ClassVar[TaskExample]

    def check_task(self, task: Task) -> None:
        """Validate the type-specific fields of ``task`` (raise InvalidParameterError)."""
        if task.columns is not None and not self.multi_column:
            raise InvalidParameterError(
                f"Task '{task.name}' of type {self.name} takes one label 'column', not 'columns'."
            )
        for key, default in OPTIONAL_FIELDS.items():
            if key not in self.extra_fields and getattr(task, key) != default:
                raise InvalidParameterError(
                    f"Task '{task.name}' of type {self.name} does not take '{key}'"
                    f" (only task types that use it do: see `manyheads ls tasks`)."
                )
        if task.metrics is not None:
            unknown = [m for m in task.metrics if m not in self.metric_directions]
            if unknown:
                raise InvalidParameterError(
                    f"Unknown metric(s) {unknown} for task '{task.name}' of type {self.name}. "
                    f"Valid: {', '.join(self.metric_directions)}."
                )

    def metric_names(self, task: Task) -> tuple[str, ...]:
        """The metrics reported for ``task``; the first is its primary metric."""
        return task.metrics if task.metrics else tuple(self.metric_directions)

    def tune(self, task: Task, state: State, output: Tensor, target: Tensor, mask: Tensor) -> State:
        """The label state adjusted on the validation outputs after training (e.g. decision
        thresholds); unchanged by default. Runs once, before the final scores."""
        del task, output, target, mask
        return state

    def detail_names(self, task: Task, state: State) -> tuple[str, ...]:
        """Scores reported beside the metrics (e.g. one AUC per label), never monitored or
        compared; none by default."""
        del task, state
        return ()

    @abstractmethod
    def fit(self, task: Task, frame: pd.DataFrame, path: str) -> State:
        """Learn the label state from the training frame."""

    @abstractmethod
    def encode(
        self, task: Task, state: State, frame: pd.DataFrame, path: str, *, unseen: str = "warn"
    ) -> tuple[Tensor, Tensor]:
        """Labels -> (targets, mask [N] bool). Unlabelled rows get mask False.

        ``unseen`` (one of :data:`UNSEEN_LABELS`) says what a class or tag that the state
        does not know becomes; types without a label vocabulary ignore it.
        """

    @abstractmethod
    def out_dim(self, state: State) -> int:
        """Width of the head's output."""

    @abstractmethod
    def loss(
        self, task: Task, state: State, output: Tensor, target: Tensor, mask: Tensor
    ) -> Tensor:
        """Masked mean loss, a scalar that is 0 and finite when ``mask`` is all False."""

    @abstractmethod
    def predict(self, task: Task, state: State, output: Tensor) -> dict[str, np.ndarray]:
        """Output columns for a prediction file, e.g. ``{"income": labels, "income_proba": p}``."""

    def predict_words(
        self, task: Task, state: State, output: Tensor, words: Tensor
    ) -> dict[str, np.ndarray]:
        """:meth:`predict` for a token-level task, given each row's word slots ``[N, W]`` bool
        (one prediction per word of the row); row-level types ignore ``words``."""
        del words
        return self.predict(task, state, output)

    @abstractmethod
    def score(
        self, task: Task, state: State, output: Tensor, target: Tensor, mask: Tensor
    ) -> dict[str, float]:
        """Every metric of :meth:`metric_names` over the labelled rows, plus ``n``."""


def check_loss(task_type: str, task: Task, losses: tuple[str, ...]) -> None:
    """Refuse a ``loss`` of ``task`` (of type ``task_type``) that is not None or one of ``losses``.

    Example:
        >>> try:
        ...     check_loss("regression", Task("y", type="regression", loss="ce"), ("mse", "huber"))
        ... except InvalidParameterError as exc:
        ...     print(exc)
        The 'loss' of regression task 'y' must be 'mse' or 'huber'. Got 'ce'.
    """
    if task.loss not in (None, *losses):
        names = " or ".join(f"'{loss}'" for loss in losses)
        raise InvalidParameterError(
            f"The 'loss' of {task_type} task '{task.name}' must be {names}. Got {task.loss!r}."
        )


def metric_scores(
    names: tuple[str, ...], n: int, metric: Callable[[str], float]
) -> dict[str, float]:
    """What :meth:`TaskType.score` returns: ``metric(name)`` for each of ``names``, every one NaN
    when ``n`` (the labelled rows, or tokens) is 0, plus ``n``.

    Example:
        >>> metric_scores(("a", "b"), 2, lambda name: 0.5), metric_scores(("a",), 0, len)
        ({'a': 0.5, 'b': 0.5, 'n': 2}, {'a': nan, 'n': 0})
    """
    out = {name: metric(name) if n else float("nan") for name in names}
    out["n"] = n
    return out


def sigmoid_scores(
    names: tuple[str, ...],
    output: Tensor,
    target: Tensor,
    mask: Tensor,
    metric: Callable[[str, np.ndarray, np.ndarray], float],
) -> dict[str, float]:
    """:func:`metric_scores` for outputs that are logits of yes/no labels (binary, multilabel):
    ``metric(name, y, p)`` gets the labelled rows' int targets and sigmoid probabilities."""
    m = mask.cpu().numpy()
    y = target.cpu().numpy()[m].astype(int)
    p = torch.sigmoid(output.float()).cpu().numpy()[m]
    return metric_scores(names, int(m.sum()), lambda name: metric(name, y, p))


def as_tensor(values: np.ndarray, dtype: torch.dtype) -> Tensor:
    """A contiguous CPU tensor from a numpy array."""
    return torch.from_numpy(np.ascontiguousarray(values)).to(dtype)
