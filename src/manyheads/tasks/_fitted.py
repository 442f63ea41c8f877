"""A task with the label encoding learnt on train: what encoding, losses, metrics and predictions
need, as one object. The model builder, the training loop and the workflow take a list of these
(``TablePreprocessor.fitted_tasks``), never tasks and label encodings side by side."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from torch import Tensor

from manyheads.tasks._base import TaskType
from manyheads.tasks._registry import get_task_type
from manyheads.tasks.task import Task

__all__ = ["FittedTask", "fit_task"]


@dataclass(frozen=True)
class FittedTask:
    """A :class:`Task` and its label state (what its type's ``fit`` learnt on train).

    The methods are those of the task's :class:`TaskType` with the task and state filled in.

    Example:
        >>> frame = pd.DataFrame({"y": ["no", "yes", None]})
        >>> fitted = fit_task(Task("y", type="binary"), frame, "train.csv")
        >>> fitted.state["classes"], fitted.out_dim
        (['no', 'yes'], 1)
        >>> fitted.encode(frame, "train.csv")[1].tolist()
        [True, True, False]
    """

    task: Task
    state: dict[str, Any]

    @property
    def name(self) -> str:
        """The task's name."""
        return self.task.name

    @property
    def task_type(self) -> TaskType:
        """The task's type."""
        return get_task_type(self.task.type)

    @property
    def out_dim(self) -> int:
        """Width of the task's head."""
        return self.task_type.out_dim(self.state)

    def encode(
        self, frame: pd.DataFrame, path: str, *, unseen: str = "warn"
    ) -> tuple[Tensor, Tensor]:
        """Labels of ``frame`` -> (targets, mask); see :meth:`TaskType.encode`."""
        return self.task_type.encode(self.task, self.state, frame, path, unseen=unseen)

    def loss(self, output: Tensor, target: Tensor, mask: Tensor) -> Tensor:
        """Masked mean loss; see :meth:`TaskType.loss`."""
        return self.task_type.loss(self.task, self.state, output, target, mask)

    def score(self, output: Tensor, target: Tensor, mask: Tensor) -> dict[str, float]:
        """Every metric over the labelled rows, plus ``n``; see :meth:`TaskType.score`."""
        return self.task_type.score(self.task, self.state, output, target, mask)

    def tune(self, output: Tensor, target: Tensor, mask: Tensor) -> FittedTask:
        """This task with its state tuned on validation outputs; see :meth:`TaskType.tune`."""
        state = self.task_type.tune(self.task, self.state, output, target, mask)
        return FittedTask(self.task, state)

    def predict(self, output: Tensor, words: Tensor | None = None) -> dict[str, np.ndarray]:
        """Prediction columns; with ``words`` (each row's word slots) one entry per word."""
        if words is None:
            return self.task_type.predict(self.task, self.state, output)
        return self.task_type.predict_words(self.task, self.state, output, words)


def fit_task(task: Task, frame: pd.DataFrame, path: str) -> FittedTask:
    """Learn the label state of ``task`` from the training rows ``frame`` (read from ``path``)."""
    return FittedTask(task, get_task_type(task.type).fit(task, frame, path))
