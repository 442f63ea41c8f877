"""Geometric loss strategy: minimise the geometric mean of the task losses."""

from __future__ import annotations

import torch
from torch import Tensor

from manyheads.weighting.base import Weighting

__all__ = ["GLS"]


class GLS(Weighting):
    r"""Geometric loss strategy (Chennupati et al., CVPR Workshops 2019, "MultiNet++: Multi-Stream
    Feature Aggregation and Geometric Loss Strategy for Multi-Task Learning").

    Minimises their Eq. (2), :math:`L = (\prod_t L_t)^{1/T}`, through the equivalent weights
    :math:`\partial L / \partial L_t = L / (T L_t)` (detached), so the step is that of the
    geometric mean. A task with a zero loss (no label in the batch) is left out of the product
    instead of zeroing it.

    Args:
        n_tasks: the number of tasks T.

    Example:
        >>> GLS(2)(torch.tensor([1.0, 4.0]))
        tensor([1.0000, 0.2500])
    """

    def forward(self, losses: Tensor) -> Tensor:
        values = losses.detach()
        active = values > 0
        if not bool(active.any()):
            return torch.zeros_like(values)
        logs = torch.where(active, values.clamp(min=torch.finfo(values.dtype).tiny).log(), 0.0)
        n_active = active.sum()
        geometric = torch.exp(logs.sum() / n_active)
        return torch.where(active, geometric / (n_active * values.clamp(min=1e-30)), 0.0)
