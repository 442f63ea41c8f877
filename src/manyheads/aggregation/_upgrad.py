"""UPGrad: project each task gradient onto the dual cone of all of them (TorchJD)."""

from __future__ import annotations

from torch import Tensor
from torchjd.aggregation import UPGradWeighting

from manyheads.aggregation.base import GramianAggregator, solve_active

__all__ = ["UPGrad"]


class UPGrad(GramianAggregator):
    r"""Unconflicting projection of gradients (Quinton & Rey, 2024, "Jacobian Descent for
    Multi-Objective Optimization").

    Each row :math:`g_t` is projected onto the dual cone
    :math:`\{x : G x \ge 0\}` of the Jacobian (their Eq. 5, solved as a quadratic program on the
    Gramian by TorchJD 0.18's ``UPGradWeighting``), and the projections are averaged. The update
    therefore has a non-negative inner product with every task gradient.

    Args:
        n_tasks: the number of tasks T.

    Example:
        >>> import torch
        >>> u = UPGrad(2)(torch.tensor([[-4.0, 1.0, 1.0], [6.0, 1.0, 1.0]]))
        >>> bool(((torch.tensor([[-4.0, 1.0, 1.0], [6.0, 1.0, 1.0]]) @ u) >= 0).all())
        True
    """

    def __init__(self, n_tasks: int) -> None:
        super().__init__(n_tasks)
        self.solver = UPGradWeighting()

    def weights(self, gramian: Tensor) -> Tensor:
        return solve_active(gramian, self.solver)
