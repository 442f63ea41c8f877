"""IMTL-L: learned loss scales that make every scaled loss equal to one."""

from __future__ import annotations

import torch
from torch import Tensor

from manyheads.aggregation._task_state import TaskStateMixin
from manyheads.weighting.base import Weighting

__all__ = ["IMTLL"]


class IMTLL(TaskStateMixin, Weighting):
    r"""Impartial multi-task learning, loss balance (Liu et al., ICLR 2021, "Towards Impartial
    Multi-task Learning").

    Each task's loss becomes :math:`e^{s_t} L_t - s_t` (their Eq. 4) with a learned scale
    :math:`s_t`, so the weights are :math:`e^{s_t}` and the extra term is :math:`-\sum_t s_t`;
    the gradient in :math:`s_t`, :math:`e^{s_t} L_t - 1`, drives every scaled loss to 1. The
    parameters ``scales`` are trained by the model's optimiser and saved with checkpoints.

    Args:
        n_tasks: the number of tasks T.

    Example:
        >>> IMTLL(2)(torch.tensor([1.0, 3.0]))
        tensor([1., 1.], grad_fn=<ExpBackward0>)
    """

    def __init__(self, n_tasks: int) -> None:
        super().__init__(n_tasks)
        self.scales = self.task_parameter()

    def forward(self, losses: Tensor) -> Tensor:
        return torch.exp(self.scales.to(losses.dtype))

    def extra_loss(self) -> Tensor:
        return -self.scales.sum()

    def reset(self) -> None:
        self.zero_state(self.scales)
