"""Equal weighting: every task's loss has weight 1."""

from __future__ import annotations

import torch
from torch import Tensor

from manyheads.weighting.base import Weighting

__all__ = ["EW"]


class EW(Weighting):
    """Equal weighting, the plain sum of the task losses.

    Example:
        >>> EW(3)(torch.tensor([0.5, 2.0, 1.0]))
        tensor([1., 1., 1.])
    """

    def forward(self, losses: Tensor) -> Tensor:
        return torch.ones_like(losses).detach()
