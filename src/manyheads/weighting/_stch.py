"""STCH: the smooth Tchebycheff scalarisation of the task losses."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from manyheads._validation import N_TASKS, POSITIVE, Constraints
from manyheads.weighting.base import Weighting

__all__ = ["STCH"]


class STCH(Weighting):
    r"""Smooth Tchebycheff scalarisation (Lin et al., ICML 2024, "Smooth Tchebycheff
    Scalarization for Multi-Objective Optimization").

    Minimises their Eq. (9), :math:`g_\mu(\theta) = \mu \log \sum_t
    \exp(\lambda_t (L_t - z_t^*) / \mu)` with uniform preferences :math:`\lambda_t = 1/T` and
    the ideal point :math:`z^* = 0` (losses are non-negative), through the equivalent detached
    weights :math:`\partial g_\mu / \partial L_t = \lambda_t\, \mathrm{softmax}_t(\lambda L/\mu)`,
    multiplied by :math:`T^2` so that :math:`\mu \to \infty` recovers equal weights and
    :math:`\mu \to 0` puts all the weight on the worst task (the Tchebycheff scalarisation).

    Args:
        n_tasks: the number of tasks T.
        mu: the smoothing :math:`\mu` > 0.

    Example:
        >>> STCH(2)(torch.tensor([1.0, 3.0]))
        tensor([0.5379, 1.4621])
    """

    _parameter_constraints: ClassVar[Constraints] = {**N_TASKS, "mu": [POSITIVE]}

    def __init__(self, n_tasks: int, *, mu: float = 1.0) -> None:
        super().__init__(n_tasks)
        self.mu = float(mu)

    def forward(self, losses: Tensor) -> Tensor:
        scaled = losses.detach() / (self.n_tasks * self.mu)
        return self.n_tasks * torch.softmax(scaled, dim=0)
