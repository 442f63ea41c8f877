"""The loss-weighting contract: per-task losses ``[T]`` in, weights ``[T]`` out (TorchJD style).

A weighting is an ``nn.Module`` so that learned parameters (uncertainty weighting) and running state
(DWA's loss history) live in its ``state_dict`` and are saved with checkpoints. The trainer calls
:meth:`Weighting.__call__` once per step with the step's losses (still attached to the graph) and
minimises ``sum(weights * losses) + extra_loss()``. ``end_epoch`` is called with the epoch's mean
losses, for methods defined per epoch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from torch import Tensor, nn

from manyheads._validation import TaskCountParams

__all__ = ["Weighting"]


class Weighting(TaskCountParams, nn.Module, ABC):
    """Base class of loss-weighting methods.

    Takes ``n_tasks``, the number of tasks T, then the method's options, checked before its
    ``__init__`` runs (:class:`~manyheads._validation.TaskCountParams`).
    """

    def __call__(self, losses: Tensor) -> Tensor:
        if losses.shape != (self.n_tasks,):
            raise ValueError(
                f"{type(self).__name__} expects losses of shape [{self.n_tasks}]. "
                f"Found `losses.shape = {tuple(losses.shape)}`."
            )
        weights: Tensor = super().__call__(losses)
        if weights.shape != (self.n_tasks,):
            raise AssertionError(f"{type(self).__name__} returned weights {tuple(weights.shape)}")
        return weights

    @abstractmethod
    def forward(self, losses: Tensor) -> Tensor:
        """Weights ``[T]`` for the step's losses ``[T]``."""

    def extra_loss(self) -> Tensor | None:
        """A term added to the objective (e.g. uncertainty weighting's log-variances), or None."""
        return None

    def end_epoch(self, epoch_losses: Tensor) -> None:
        """Called after each epoch with the mean training loss per task ``[T]``."""
        del epoch_losses

    def reset(self) -> None:
        """Forget running state; learned parameters are re-initialised by subclasses."""
