"""IMTL-G: the update with equal projections onto every task's unit gradient (TorchJD)."""

from __future__ import annotations

from torch import Tensor

from manyheads.aggregation.base import GramianAggregator, solve_active

__all__ = ["IMTL"]


class IMTL(GramianAggregator):
    r"""Impartial multi-task learning, gradient balance (Liu et al., ICLR 2021, "Towards
    Impartial Multi-task Learning").

    Finds weights :math:`\alpha` with :math:`\sum_t \alpha_t = 1` such that the update
    :math:`g = \sum_t \alpha_t g_t` has equal projections :math:`g^\top u_t` onto every unit
    gradient :math:`u_t = g_t / \|g_t\|` (their Eq. 8, closed form Eq. 13), computed on the Gramian
    with a pseudo-inverse by TorchJD 0.18's ``IMTLGWeighting`` (robust to dependent rows), in
    float64.

    Args:
        n_tasks: the number of tasks T.

    Example:
        >>> import torch
        >>> IMTL(2)(torch.tensor([[2.0, 0.0], [0.0, 1.0]]))
        tensor([0.6667, 0.6667])
    """

    def __init__(self, n_tasks: int) -> None:
        super().__init__(n_tasks)
        # TorchJD loads with the first solver built (``validate`` imports none)
        from torchjd.aggregation import IMTLGWeighting

        self.solver = IMTLGWeighting()

    def weights(self, gramian: Tensor) -> Tensor:
        # in float64: a float32 pseudo-inverse loses widely scaled tasks
        return solve_active(gramian.double(), self.solver).to(gramian.dtype)
