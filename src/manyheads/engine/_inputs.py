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
    """

    train: EncodedTable
    valid: EncodedTable
    tasks: list[FittedTask]
