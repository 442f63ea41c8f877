"""PCGrad: project each task gradient off the normal plane of the gradients it conflicts with."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from manyheads._validation import N_TASKS, Constraints
from manyheads.aggregation._seeded import SEEDED, SeededMethod
from manyheads.aggregation.base import GramianAggregator

__all__ = ["PCGrad", "pcgrad_coefficients"]


def pcgrad_coefficients(gramian: Tensor, orders: list[list[int]]) -> Tensor:
    """Coefficients ``C`` [T, T] with ``g_i^PC = sum_k C[i, k] g_k`` (computed on the Gramian).

    Args:
        gramian: ``G = J Jᵀ`` [T, T].
        orders: for each task ``i``, the order in which the other tasks are visited.

    Example:
        >>> g = torch.tensor([[1.0, 0.0], [-1.0, 1.0]])
        >>> pcgrad_coefficients(g @ g.T, [[1], [0]]) @ g
        tensor([[0.5000, 0.5000],
                [0.0000, 1.0000]])
    """
    gram = gramian.detach().double().cpu().numpy()
    n = gram.shape[0]
    coef = torch.eye(n, dtype=torch.float64).numpy()
    for i in range(n):
        dots = coef[i] @ gram  # g_i^PC . g_k for every k
        for j in orders[i]:
            if j == i or gram[j, j] <= 0.0 or dots[j] >= 0.0:
                continue
            step = dots[j] / gram[j, j]
            coef[i, j] -= step
            dots = dots - step * gram[j]
    return torch.from_numpy(coef).to(gramian.device, gramian.dtype)


class PCGrad(SeededMethod, GramianAggregator):
    r"""Projecting conflicting gradients (Yu et al., NeurIPS 2020, "Gradient Surgery for
    Multi-Task Learning").

    Algorithm 1: for each task ``i`` and the other tasks ``j`` in random order, if
    :math:`g_i^{PC} \cdot g_j < 0` then
    :math:`g_i^{PC} \leftarrow g_i^{PC} - \frac{g_i^{PC} \cdot g_j}{\|g_j\|^2} g_j`; the update
    is :math:`\sum_i g_i^{PC}`. Done on the Gramian (coefficients of the original rows), so no
    projected copy of the Jacobian is made. The visiting order comes from a seeded generator
    stored in the state dict.

    Args:
        n_tasks: the number of tasks T.
        seed: seed of the visiting orders.

    Example:
        >>> PCGrad(2)(torch.tensor([[1.0, 0.0], [-1.0, 1.0]]))
        tensor([0.5000, 1.5000])
    """

    supports_rep_grad: ClassVar[bool] = False

    _parameter_constraints: ClassVar[Constraints] = {**N_TASKS, **SEEDED}

    def __init__(self, n_tasks: int, *, seed: int = 0) -> None:
        super().__init__(n_tasks, seed=seed)

    def weights(self, gramian: Tensor) -> Tensor:
        n = gramian.shape[0]
        orders = [self.rng.permutation(n) for _ in range(n)]
        return pcgrad_coefficients(gramian, orders).sum(dim=0)
