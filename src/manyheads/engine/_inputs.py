"""``TrainInputs``: the encoded data one run trains on and selects its epochs with."""

from __future__ import annotations

from dataclasses import dataclass

from manyheads.data.tensors import EncodedTable
from manyheads.tasks._fitted import FittedTask

__all__ = ["TrainInputs"]


@dataclass(frozen=True)
class TrainInputs:
    """The encoded training and validation tables and the fitted tasks.

    Args:
        train: the training rows.
        valid: the validation rows (they score every epoch).
        tasks: each task with its label encoding (the preprocessor's ``fitted_tasks``), in the
            model's head order.
        train_tasks: the tasks whose losses train the model, in the same order, when they
            differ from ``tasks`` (a distilled run's tasks learn from packed teacher targets:
            :mod:`manyheads.distill`); None trains on ``tasks``. Validation always uses ``tasks``.
    """

    train: EncodedTable
    valid: EncodedTable
    tasks: list[FittedTask]
    train_tasks: list[FittedTask] | None = None
