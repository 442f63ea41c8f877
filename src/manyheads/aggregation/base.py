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
* A method that keeps a running ``[T, P]`` matrix (MoCo's tracked Jacobian, DB-MTL's gradient
  EMA) names it in :meth:`Aggregator.jacobian_target`: the engine then writes the step's
  Jacobian straight into it, ``buffer ← keep · buffer + scale_t · J_t``, inside the matrix
  products that compute ``J`` (no separate ``[T, P]`` Jacobian, no separate blend), and shows
  each written column block to the method's ``visit`` while the block is in cache (row norms,
  ``Y Yᵀ λ``: no extra pass over ``[T, P]``). :meth:`Aggregator.aggregate_target` then finishes
  the step.
* :class:`ColumnwiseAggregator` methods (GradDrop) decide each coordinate from its own column
  of ``J``: the engine streams ``J`` in column blocks and never holds ``[T, P]``.
* In ``rep_grad`` mode the engine calls :meth:`Aggregator.aggregate_features` with the
  gradients at the shared features and the features themselves (GradDrop reads their signs and
  sums over the batch); by default it aggregates the flattened gradients.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from manyheads._validation import (
    Boolean,
    StrOptions,
    TaskCountParams,
    option_message,
    validate_params,
)
from manyheads.errors import InvalidParameterError

__all__ = [
    "REDUCTION",
    "Aggregator",
    "ColumnwiseAggregator",
    "GramianAggregator",
    "JacobianTarget",
    "RunningJacobianAggregator",
    "blend_into",
    "solve_active",
]


@dataclass(frozen=True)
class JacobianTarget:
    """Where the engine writes a step's Jacobian: ``buffer ← keep · buffer + scale[:, None] · J``.

    Attributes:
        buffer: ``[T, P]``, kept by the aggregator across steps. With ``keep == 0`` its old
            content is ignored (it may hold anything, NaN included).
        keep: the factor of the old content that stays.
        scale: ``[T]``, the factor of each task's new row.
        visit: called as ``visit(block, start)`` with every written ``[T, n]`` column block of
            ``buffer`` (columns ``start .. start + n``) right after it is written, while it is
            in cache; the blocks cover the columns once, in no particular order.
    """

    buffer: Tensor
    keep: float
    scale: Tensor
    visit: Callable[[Tensor, int], None] | None = None


def blend_into(target: JacobianTarget, grads: Tensor) -> None:
    """Write ``grads`` [T, n] into ``target.buffer`` [T, n] as the target asks (no visit).

    Example:
        >>> buffer = torch.full((2, 1), float("nan"))
        >>> blend_into(JacobianTarget(buffer, 0.0, torch.tensor([1.0, 2.0])), torch.ones(2, 1))
        >>> buffer.flatten().tolist()
        [1.0, 2.0]
    """
    scale = target.scale.to(grads.dtype).unsqueeze(1)
    if target.keep == 0.0:  # the old content may be garbage: overwrite, never multiply it
        torch.mul(grads, scale, out=target.buffer)
    else:
        target.buffer.mul_(target.keep).addcmul_(grads, scale.expand_as(grads))


class Aggregator(TaskCountParams, nn.Module, ABC):
    """Base class of gradient aggregators.

    Takes ``n_tasks``, the number of tasks T, then the method's options, checked before its
    ``__init__`` runs (:class:`~manyheads._validation.TaskCountParams`).
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
        super().__init__(n_tasks)
        self._rep_grad = False

    @property
    def rep_grad(self) -> bool:
        """Aggregate gradients at the shared features instead of the shared parameters."""
        return self._rep_grad

    @rep_grad.setter
    def rep_grad(self, value: bool) -> None:
        owner = type(self).__name__
        validate_params(owner, {"rep_grad": [Boolean()]}, {"rep_grad": value})
        if value and not self.supports_rep_grad:
            expected = "false: it needs the gradients of the shared parameters"
            fix = "Remove the 'rep_grad' option."
            raise InvalidParameterError(option_message(owner, "rep_grad", expected, value, fix))
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

    def aggregate_features(self, grads: Tensor, features: list[Tensor]) -> Tensor:
        """The update ``[B·D]`` in ``rep_grad`` mode from the gradients ``[T, B·D]`` at the
        shared ``features`` (each ``[B, ...]``, concatenated in order after flattening).

        The default aggregates the flattened gradients like parameter gradients; a method whose
        rule reads the features themselves (GradDrop's signs, batch sums) overrides it.
        """
        del features
        return self(grads)

    def jacobian_target(self, n_params: int, like: Tensor) -> JacobianTarget | None:
        """Where the engine should write this step's ``[T, n_params]`` Jacobian, or None.

        None (the default unless ``reuses_jacobian``): the engine passes a fresh tensor to
        :meth:`forward`. With ``reuses_jacobian`` one buffer, kept on the aggregator (not saved),
        is overwritten every step. Called once per step, just before the write, so a method
        may advance its step counter here.
        """
        if not self.reuses_jacobian:
            return None
        shape = (self.n_tasks, n_params)
        buffer: Tensor | None = getattr(self, "_jacobian_buffer", None)
        if buffer is None or (buffer.shape, buffer.dtype, buffer.device) != (
            shape,
            like.dtype,
            like.device,
        ):
            buffer = like.new_empty(shape)
            object.__setattr__(self, "_jacobian_buffer", buffer)  # not a buffer: never saved
        return JacobianTarget(buffer, 0.0, like.new_ones(self.n_tasks))

    def aggregate_target(self, target: JacobianTarget) -> Tensor:
        """The update ``[P]`` once the engine has written (and visited) ``target``."""
        return self(target.buffer)

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


class RunningJacobianAggregator(Aggregator):
    """An aggregator that keeps a running ``[T, P]`` matrix the engine writes the Jacobian into.

    Subclasses implement :meth:`jacobian_target` (the matrix, how to blend the step's Jacobian
    into it, what to accumulate per block) and :meth:`aggregate_target`; :meth:`forward` does
    the same on a materialised Jacobian, so both paths are one method.
    """

    reuses_jacobian: ClassVar[bool] = True  # keeps no reference to its input

    @abstractmethod
    def jacobian_target(self, n_params: int, like: Tensor) -> JacobianTarget: ...

    @abstractmethod
    def aggregate_target(self, target: JacobianTarget) -> Tensor:
        """The update ``[P]``: a new tensor, not a view of any state (the engine keeps it as
        the ``.grad`` of the shared parameters)."""

    def forward(self, grads: Tensor) -> Tensor:
        target = self.jacobian_target(grads.shape[1], grads)
        blend_into(target, grads.detach())
        if target.visit is not None:
            target.visit(target.buffer, 0)
        return self.aggregate_target(target)


class ColumnwiseAggregator(Aggregator):
    """An aggregator whose update at each coordinate reads only that coordinate's column of ``J``.

    The engine calls :meth:`begin` once per step, then :meth:`combine` on column blocks of the
    Jacobian in any order, so that ``[T, P]`` is never held (each block lives in cache).
    Per-step randomness is drawn in :meth:`begin` for all ``P`` coordinates at once, so the
    result does not depend on the blocks.
    """

    def begin(self, n_params: int, like: Tensor) -> None:
        """Start a step over ``n_params`` coordinates (``like`` gives dtype and device)."""
        del n_params, like

    @abstractmethod
    def combine(self, columns: Tensor, start: int, out: Tensor) -> None:
        """Write the update of the columns ``[T, n]`` at coordinates ``start .. start + n``
        into ``out`` ``[n]`` (``columns`` may be scratch memory: keep no reference to it)."""

    def forward(self, grads: Tensor) -> Tensor:
        self.begin(grads.shape[1], grads)
        update = grads.new_empty(grads.shape[1])
        self.combine(grads, 0, update)
        return update


def solve_active(gramian: Tensor, solve: Callable[[Tensor], Tensor]) -> Tensor:
    """Run ``solve`` on the sub-Gramian of tasks with a non-zero gradient; others get weight 0.

    A task without a label in the batch has an all-zero gradient row (``G[t, t] == 0``). For
    methods whose solution is undefined or degenerate then (a zero vertex makes MGDA's min-norm
    point zero, Nash-MTL's ``1/α`` diverges), that task is left out of the step. Only an exactly
    zero gradient counts as absent: a small one, however small next to the others, is a task
    with labels and keeps its place in the method's solution.

    Example:
        >>> g = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1e-30]])
        >>> solve_active(g, lambda sub: torch.ones(sub.shape[0]))
        tensor([1., 0., 1.])
    """
    active = gramian.diagonal() > 0
    if bool(active.all()):
        return solve(gramian)
    weights = gramian.new_zeros(gramian.shape[0])
    if bool(active.any()):
        weights[active] = solve(gramian[active][:, active]).to(gramian.dtype)
    return weights


#: The ``reduction`` option of the methods that scale their step: ``"sum"`` (the authors'
#: step) or ``"mean"`` (1/T of it).
REDUCTION = StrOptions(("sum", "mean"))
