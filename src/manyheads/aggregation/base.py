"""The gradient-aggregation contract: per-task gradients ``[T, P]`` in, one update ``[P]`` out.

The engine (:mod:`manyheads.engine.backward`) computes the Jacobian of the task losses with
respect to the parameters the architecture declares shared, calls the aggregator, and writes the
update into their ``.grad``; task-specific parameters get their own task's gradient. An aggregator
is an ``nn.Module`` so that running state (GradVac's targets, Nash-MTL's previous weights) is in
its ``state_dict`` and saved with checkpoints. Set ``rep_grad = True`` on a method that also accepts
gradients at the shared representation instead of the shared parameters.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from torch import Tensor, nn

from manyheads.errors import InvalidParameterError

__all__ = ["Aggregator"]


class Aggregator(nn.Module, ABC):
    """Base class of gradient aggregators.

    Args:
        n_tasks: the number of tasks T.
    """

    #: whether the method may run on representation-level gradients (``rep_grad`` mode).
    supports_rep_grad: ClassVar[bool] = True

    def __init__(self, n_tasks: int) -> None:
        super().__init__()
        if not isinstance(n_tasks, int) or n_tasks < 1:
            raise InvalidParameterError(
                f"The 'n_tasks' parameter of {type(self).__name__} must be an int >= 1. "
                f"Got {n_tasks!r}."
            )
        self.n_tasks = n_tasks

    def __call__(self, grads: Tensor) -> Tensor:  # type: ignore[override]
        if grads.ndim != 2 or grads.shape[0] != self.n_tasks:
            raise ValueError(
                f"{type(self).__name__} expects gradients of shape [{self.n_tasks}, P]. "
                f"Found `grads.shape = {tuple(grads.shape)}`."
            )
        update: Tensor = super().__call__(grads)
        if update.shape != grads.shape[1:]:
            raise AssertionError(f"{type(self).__name__} returned {tuple(update.shape)}")
        return update

    @abstractmethod
    def forward(self, grads: Tensor) -> Tensor:
        """The update ``[P]`` from per-task gradients ``[T, P]``."""

    def end_epoch(self, epoch_losses: Tensor) -> None:
        """Called after each epoch with the mean training loss per task ``[T]``."""
        del epoch_losses

    def reset(self) -> None:
        """Forget running state."""
