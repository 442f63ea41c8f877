"""GradVac: move each pair of task gradients towards their running cosine-similarity target."""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import Tensor

from manyheads._validation import N_TASKS, UNIT_INTERVAL, Constraints
from manyheads.aggregation._seeded import SEEDED, SeededMethod
from manyheads.aggregation.base import GramianAggregator

__all__ = ["GradVac"]


class GradVac(SeededMethod, GramianAggregator):
    r"""Gradient Vaccine (Wang et al., ICLR 2021, "Gradient Vaccine: Investigating and Improving
    Multi-task Optimization in Massively Multilingual Models").

    For each task ``i`` and the other tasks ``j`` in random order, with
    :math:`\phi_{ij} = \cos(g_i^{PC}, g_j)` and the target :math:`\hat\phi_{ij}`: if
    :math:`\phi_{ij} < \hat\phi_{ij}`, add (their Eq. 3)

    .. math:: \frac{\|g_i\| (\hat\phi_{ij}\sqrt{1-\phi_{ij}^2} -
              \phi_{ij}\sqrt{1-\hat\phi_{ij}^2})}{\|g_j\| \sqrt{1-\hat\phi_{ij}^2}}\, g_j

    to :math:`g_i^{PC}`, then update the target by the EMA
    :math:`\hat\phi_{ij} \leftarrow (1-\beta)\hat\phi_{ij} + \beta \phi_{ij}` (Eq. 4). The update
    is :math:`\sum_i g_i^{PC}`. Targets (``phi_hat`` [T, T]) and the visiting order's generator
    are buffers, saved with checkpoints. Computed on the Gramian (whole-model granularity).

    Args:
        n_tasks: the number of tasks T.
        beta: the EMA rate of the targets, in [0, 1].
        seed: seed of the visiting orders.

    Example:
        >>> GradVac(2)(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        tensor([1., 1.])
    """

    supports_rep_grad: ClassVar[bool] = False
    phi_hat: Tensor

    _parameter_constraints: ClassVar[Constraints] = {**N_TASKS, "beta": [UNIT_INTERVAL], **SEEDED}

    def __init__(self, n_tasks: int, *, beta: float = 0.5, seed: int = 0) -> None:
        super().__init__(n_tasks, seed=seed)
        self.beta = float(beta)
        self.register_buffer("phi_hat", torch.zeros(n_tasks, n_tasks, dtype=torch.float64))

    def weights(self, gramian: Tensor) -> Tensor:
        n = gramian.shape[0]
        orders = [self.rng.permutation(n) for _ in range(n)]
        gram = gramian.detach().double().cpu().numpy()
        phi_hat = self.phi_hat.cpu().numpy().copy()
        coef = torch.eye(n, dtype=torch.float64).numpy()
        for i in range(n):
            dots = coef[i] @ gram
            for j in orders[i]:
                if j == i or gram[j, j] <= 0.0:
                    continue
                norm_i = math.sqrt(max(float(dots @ coef[i]), 0.0))
                norm_j = math.sqrt(gram[j, j])
                if norm_i == 0.0:
                    continue
                phi = float(dots[j]) / (norm_i * norm_j)
                target = phi_hat[i, j]
                if phi < target:
                    root = math.sqrt(max(1.0 - target**2, 0.0))
                    w = norm_i * (target * math.sqrt(max(1.0 - phi**2, 0.0)) - phi * root)
                    w /= norm_j * root + 1e-12
                    coef[i, j] += w
                    dots = dots + w * gram[j]
                phi_hat[i, j] = (1.0 - self.beta) * target + self.beta * phi
        self.phi_hat.copy_(torch.from_numpy(phi_hat))
        return torch.from_numpy(coef.sum(axis=0)).to(gramian.device, gramian.dtype)

    def reset(self) -> None:
        self.phi_hat.zero_()
        super().reset()  # a new run visits the tasks in the same seeded orders
