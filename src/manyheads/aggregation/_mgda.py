"""MGDA: the minimum-norm point of the convex hull of the task gradients (TorchJD's solver)."""

from __future__ import annotations

from torch import Tensor
from torchjd.aggregation import MGDAWeighting

from manyheads.aggregation.base import GramianAggregator, solve_active
from manyheads.errors import InvalidParameterError

__all__ = ["MGDA"]


class MGDA(GramianAggregator):
    r"""Multiple-gradient descent (Sener & Koltun, NeurIPS 2018, "Multi-Task Learning as
    Multi-Objective Optimization").

    Solves Eq. (3), :math:`\min_{\alpha \in \Delta} \|\sum_t \alpha_t g_t\|^2`, with the
    Frank-Wolfe solver of their Algorithm 2 on the Gramian (TorchJD 0.18's ``MGDAWeighting``); the
    update is :math:`\sum_t \alpha_t g_t`. With ``rep_grad`` it is MGDA-UB (Section 3.3): the
    gradients are taken at the shared representation. Tasks with an all-zero gradient (no labels
    in the batch) are left out rather than collapsing the update to zero.

    Args:
        n_tasks: the number of tasks T.
        epsilon: Frank-Wolfe stops when its step is below this value.
        max_iters: the maximum number of Frank-Wolfe iterations.

    Example:
        >>> import torch
        >>> MGDA(2)(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        tensor([0.5000, 0.5000])
    """

    def __init__(self, n_tasks: int, *, epsilon: float = 1e-3, max_iters: int = 100) -> None:
        super().__init__(n_tasks)
        if not epsilon > 0 or not isinstance(max_iters, int) or max_iters < 1:
            raise InvalidParameterError(
                "The 'epsilon' and 'max_iters' parameters of MGDA must be > 0 and an int >= 1. "
                f"Got epsilon={epsilon!r}, max_iters={max_iters!r}."
            )
        self.solver = MGDAWeighting(epsilon=epsilon, max_iters=max_iters)

    def weights(self, gramian: Tensor) -> Tensor:
        return solve_active(gramian, self.solver)
