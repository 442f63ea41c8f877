"""Static weighting: fixed per-task weights given by hand (the task's ``weight``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor

from manyheads._validation import (
    N_TASKS,
    NON_NEGATIVE,
    Constraints,
    SequenceOf,
    option_message,
)
from manyheads.errors import InvalidParameterError
from manyheads.weighting.base import Weighting

__all__ = ["Static"]


class Static(Weighting):
    """Fixed weights ``w_t`` set by hand.

    Args:
        n_tasks: the number of tasks.
        weights: one non-negative weight per task (defaults to all ones).

    Example:
        >>> Static(2, weights=[1.0, 0.25])(torch.tensor([1.0, 1.0]))
        tensor([1.0000, 0.2500])
    """

    _parameter_constraints: ClassVar[Constraints] = {
        **N_TASKS,
        "weights": [SequenceOf(NON_NEGATIVE), None],
    }

    def __init__(self, n_tasks: int, *, weights: Sequence[float] | None = None) -> None:
        super().__init__(n_tasks)
        values = [1.0] * n_tasks if weights is None else [float(w) for w in weights]
        if len(values) != n_tasks:
            expected = f"a list of {n_tasks} numbers >= 0 (one per task)"
            raise InvalidParameterError(option_message("Static", "weights", expected, weights))
        self.register_buffer("weights", torch.tensor(values))

    def forward(self, losses: Tensor) -> Tensor:
        w = self.weights
        assert isinstance(w, Tensor)
        return w.to(losses.dtype)
