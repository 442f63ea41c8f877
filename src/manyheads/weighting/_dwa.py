"""Dynamic weight average: weights from the rate at which each task's loss falls."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from manyheads._validation import N_TASKS, POSITIVE, Constraints
from manyheads.aggregation._task_state import TaskStateMixin
from manyheads.weighting.base import Weighting

__all__ = ["DWA"]


class DWA(TaskStateMixin, Weighting):
    r"""Dynamic weight average (Liu, Johns & Davison, CVPR 2019, "End-to-End Multi-Task
    Learning with Attention").

    Their Eq. (7): :math:`w_t(e) = T \frac{\exp(r_t(e-1)/\tau)}{\sum_s \exp(r_s(e-1)/\tau)}`,
    :math:`r_t(e-1) = L_t(e-1)/L_t(e-2)`, from the mean training losses of the two previous
    epochs; :math:`w_t = 1` for the first two epochs. The two epochs of losses and their count
    are buffers, saved with checkpoints.

    Args:
        n_tasks: the number of tasks T.
        temperature: :math:`\tau` > 0 (2 in the paper).

    Example:
        >>> dwa = DWA(2)
        >>> dwa.end_epoch(torch.tensor([1.0, 1.0])); dwa.end_epoch(torch.tensor([0.5, 1.0]))
        >>> dwa(torch.tensor([0.3, 0.9]))
        tensor([0.8756, 1.1244])
    """

    history: Tensor
    n_epochs: Tensor

    _parameter_constraints: ClassVar[Constraints] = {**N_TASKS, "temperature": [POSITIVE]}

    def __init__(self, n_tasks: int, *, temperature: float = 2.0) -> None:
        super().__init__(n_tasks)
        self.temperature = float(temperature)
        self.register_buffer("history", torch.ones(2, n_tasks))  # [e-2, e-1]
        self.register_counter("n_epochs")

    def forward(self, losses: Tensor) -> Tensor:
        if int(self.n_epochs) < 2:
            return torch.ones_like(losses).detach()
        previous, last = self.history[0], self.history[1]
        ratio = last / previous.clamp(min=torch.finfo(previous.dtype).tiny)
        weights = self.n_tasks * torch.softmax(ratio / self.temperature, dim=0)
        return weights.to(losses.dtype).detach()

    def end_epoch(self, epoch_losses: Tensor) -> None:
        self.history.copy_(torch.stack([self.history[1], epoch_losses.to(self.history)]))
        self.n_epochs.add_(1)

    def reset(self) -> None:
        self.history.fill_(1.0)
        self.n_epochs.zero_()
