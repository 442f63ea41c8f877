"""The gradient-aggregation contract: per-task gradients ``[T, P]`` in, one update ``[P]`` out.

The engine (:mod:`manyheads.engine.backward`) computes the Jacobian of the task losses with
respect to the parameters the architecture declares shared, calls the aggregator, and writes the
update into their ``.grad``; task-specific parameters get their own task's gradient. An aggregator
is an ``nn.Module`` so that running state (GradVac's targets, Nash-MTL's previous weights) is in
its ``state_dict`` and saved with checkpoints. Set ``supports_rep_grad = False`` on a method that
must see the gradients of the shared parameters; the others also accept gradients at the shared
representation (``rep_grad`` mode, one encoder backward).

Two small extensions of the contract, both checked by the engine:

* :meth:`Aggregator.observe_losses` receives the step's detached losses before aggregation
  (DB-MTL differentiates ``log L_t``).
* :class:`GramianAggregator` methods need only the Gramian ``G = J Jᵀ`` and return
  ``wᵀ J`` for task weights ``w = weights(G)``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar

import torch
from torch import Tensor, nn

from manyheads.errors import InvalidParameterError

__all__ = ["Aggregator", "GramianAggregator", "solve_active"]


class Aggregator(nn.Module, ABC):
    """Base class of gradient aggregators.

    Args:
        n_tasks: the number of tasks T.
    """

    #: whether the method may run on representation-level gradients (``rep_grad`` mode).
    supports_rep_grad: ClassVar[bool] = True
    #: whether :meth:`forward` keeps no reference to its ``grads`` and does not return a view of
    #: them, so that the engine may write every step's Jacobian into one ``[T, P]`` buffer kept
    #: on the aggregator (a fresh one costs page faults on every step: ~35 ms at T = 10 and
    #: 1.6 M parameters on a CPU). Off by default, so that an aggregator that stores its input
    #: stays correct.
    reuses_jacobian: ClassVar[bool] = False

    def __init__(self, n_tasks: int) -> None:
        super().__init__()
        if isinstance(n_tasks, bool) or not isinstance(n_tasks, int) or n_tasks < 1:
            raise InvalidParameterError(
                f"The 'n_tasks' parameter of {type(self).__name__} must be an int >= 1. "
                f"Got {n_tasks!r}."
            )
        self.n_tasks = n_tasks
        self._rep_grad = False

    @property
    def rep_grad(self) -> bool:
        """Aggregate gradients at the shared features instead of the shared parameters."""
        return self._rep_grad

    @rep_grad.setter
    def rep_grad(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise InvalidParameterError(
                f"The 'rep_grad' option of {type(self).__name__} must be a bool. Got {value!r}."
            )
        if value and not self.supports_rep_grad:
            raise InvalidParameterError(
                f"{type(self).__name__} does not support rep_grad=True: it needs the gradients "
                "of the shared parameters. Remove the 'rep_grad' option."
            )
        self._rep_grad = value

    def __call__(self, grads: Tensor) -> Tensor:
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

    def observe_losses(self, losses: Tensor) -> None:
        """Called by the engine with the step's detached losses ``[T]`` before aggregating."""
        del losses

    def end_epoch(self, epoch_losses: Tensor) -> None:
        """Called after each epoch with the mean training loss per task ``[T]``."""
        del epoch_losses

    def reset(self) -> None:
        """Forget running state."""


class GramianAggregator(Aggregator):
    """An aggregator whose update is ``Jᵀ w`` with weights ``w`` read from the Gramian ``J Jᵀ``.

    Subclasses implement :meth:`weights`; the update never needs more than one ``[T, T]`` matrix
    besides the Jacobian itself.
    """

    @abstractmethod
    def weights(self, gramian: Tensor) -> Tensor:
        """Task weights ``[T]`` from the Gramian ``[T, T]`` of the task gradients."""

    def forward(self, grads: Tensor) -> Tensor:
        gramian = grads @ grads.T  # [T, T]
        weights = self.weights(gramian).to(grads.dtype)
        return weights @ grads


def solve_active(
    gramian: Tensor, solve: Callable[[Tensor], Tensor], *, tol: float = 1e-12
) -> Tensor:
    """Run ``solve`` on the sub-Gramian of tasks with a non-zero gradient; others get weight 0.

    A task without a label in the batch has an all-zero gradient row. For methods whose solution
    is undefined or degenerate then (a zero vertex makes MGDA's min-norm point zero, Nash-MTL's
    ``1/α`` diverges), that task is simply left out of the step.

    Example:
        >>> g = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
        >>> solve_active(g, lambda sub: torch.ones(sub.shape[0]))
        tensor([1., 0., 1.])
    """
    diag = gramian.diagonal()
    active = diag > tol * diag.max().clamp(min=torch.finfo(gramian.dtype).tiny)
    if bool(active.all()):
        return solve(gramian)
    weights = gramian.new_zeros(gramian.shape[0])
    if bool(active.any()):
        weights[active] = solve(gramian[active][:, active]).to(gramian.dtype)
    return weights
