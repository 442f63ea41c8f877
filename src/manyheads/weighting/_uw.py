"""Uncertainty weighting: learned homoscedastic task noise scales each loss."""

from __future__ import annotations

import torch
from torch import Tensor

from manyheads.aggregation._task_state import TaskStateMixin
from manyheads.weighting.base import Weighting

__all__ = ["UW"]


class UW(TaskStateMixin, Weighting):
    r"""Uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018, "Multi-Task Learning Using
    Uncertainty to Weigh Losses for Scene Geometry and Semantics").

    Minimises their Eq. (7), :math:`\sum_t \frac{1}{2\sigma_t^2} L_t + \log \sigma_t`, learned in
    :math:`s_t = \log \sigma_t^2` for stability: weights :math:`\frac12 e^{-s_t}` and the extra
    term :math:`\frac12 \sum_t s_t`. At the optimum :math:`\sigma_t^2 = L_t`: for a Gaussian
    regression task, the noise variance. The parameters ``log_vars`` are trained by the model's
    optimiser and saved with checkpoints.

    Args:
        n_tasks: the number of tasks T.

    Example:
        >>> UW(2)(torch.tensor([1.0, 3.0]))
        tensor([0.5000, 0.5000], grad_fn=<MulBackward0>)
    """

    def __init__(self, n_tasks: int) -> None:
        super().__init__(n_tasks)
        self.log_vars = self.task_parameter()

    def forward(self, losses: Tensor) -> Tensor:
        return 0.5 * torch.exp(-self.log_vars).to(losses.dtype)

    def extra_loss(self) -> Tensor:
        return 0.5 * self.log_vars.sum()

    def reset(self) -> None:
        self.zero_state(self.log_vars)
