"""``TrainInputs``: the encoded data one run trains on and selects its epochs with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from manyheads.data.tensors import EncodedTable
from manyheads.tasks.task import Task

__all__ = ["TrainInputs"]


@dataclass(frozen=True)
class TrainInputs:
    """The encoded training and validation tables, the tasks and their label encodings.

    Args:
        train: the training rows.
        valid: the validation rows (they score every epoch).
        tasks: the tasks, in the model's head order.
        states: task name -> its label encoding (the preprocessor's ``task_states_``).
    """

    train: EncodedTable
    valid: EncodedTable
    tasks: list[Task]
    states: dict[str, dict[str, Any]]
