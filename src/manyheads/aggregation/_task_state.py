"""Per-task state of the balancing methods: learned values, buffers and step counters."""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["TaskStateMixin"]


class TaskStateMixin(nn.Module):
    """Mixin of the loss weightings and aggregators that keep state per task (UW, IMTL-L,
    GradNorm, FAMO, DWA, DB-MTL, MoCo, Nash-MTL).

    The state is a parameter or buffer of the method's module, so it lands in the method's
    ``state_dict`` under the name the method gives it and is saved with checkpoints.

    Example:
        >>> from manyheads.weighting import UW
        >>> uw = UW(2)
        >>> uw.register_task_buffer("seen", 1.0)
        >>> uw.seen, uw.task_parameter().shape
        (tensor([1., 1.]), torch.Size([2]))
    """

    n_tasks: int
    step: Tensor

    def task_parameter(self) -> nn.Parameter:
        """A learned value per task, ``[T]`` zeros (trained by the model's optimiser)."""
        return nn.Parameter(torch.zeros(self.n_tasks))

    def register_task_buffer(
        self,
        name: str,
        fill: float = 0.0,
        *,
        persistent: bool = True,
        dtype: torch.dtype | None = None,
    ) -> None:
        """Register the buffer ``name``: ``[T]`` filled with ``fill`` (saved with checkpoints
        unless ``persistent`` is False)."""
        state = torch.full((self.n_tasks,), fill, dtype=dtype)
        self.register_buffer(name, state, persistent=persistent)

    def register_counter(self, name: str = "step") -> None:
        """Register the buffer ``name``: a step (or epoch) count, a long scalar 0."""
        self.register_buffer(name, torch.zeros((), dtype=torch.long))

    def decayed(self, value: float, sigma: float) -> float:
        """``value / k ** sigma`` at step ``k`` (:attr:`step`, counted from 1): the decaying
        step sizes of DB-MTL and MoCo."""
        decay: float = float(self.step) ** sigma
        return value / decay

    @staticmethod
    def zero_state(*tensors: Tensor) -> None:
        """Set ``tensors`` to zero in place, learned parameters too (outside autograd)."""
        with torch.no_grad():
            for tensor in tensors:
                tensor.zero_()
