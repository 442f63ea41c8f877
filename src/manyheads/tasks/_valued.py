"""The base of the task types whose labels are numbers read from the cells, with no vocabulary.

Multilabel (0/1 columns), regression and box read their labels with ``_values`` into a float
array and a labelled mask; fitting needs one labelled row and encoding is that array as float32
(regression standardises it first). Nothing can be unseen, so ``unseen`` is ignored.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from manyheads.errors import DataError
from manyheads.tasks._base import State, TaskType, as_tensor
from manyheads.tasks.task import Task

__all__ = ["ValuedTaskType"]


class ValuedTaskType(TaskType):
    """A task type whose targets are the label cells as numbers (no label vocabulary)."""

    #: what the training data must hold at least one of, as the error names it.
    needs: ClassVar[str] = "labelled row"

    @abstractmethod
    def _values(self, task: Task, frame: pd.DataFrame, path: str) -> tuple[np.ndarray, np.ndarray]:
        """(values [N] or [N, K] float, labelled [N] bool), or a DataError naming the bad cell."""

    def _training_values(
        self, task: Task, frame: pd.DataFrame, path: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_values` of the training frame, which needs a labelled row."""
        values, labelled = self._values(task, frame, path)
        if not labelled.any():
            raise DataError(
                f"{self.name} task '{task.name}' has no {self.needs} in the training data.",
                path=path,
                column=None if self.multi_column else task.label_columns[0],
            )
        return values, labelled

    def encode(
        self, task: Task, state: State, frame: pd.DataFrame, path: str, *, unseen: str = "warn"
    ) -> tuple[Tensor, Tensor]:
        del unseen  # no label vocabulary: nothing can be unseen
        values, labelled = self._values(task, frame, path)
        return as_tensor(values, torch.float32), as_tensor(labelled, torch.bool)
