"""Random loss weighting: fresh random weights at every step."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from manyheads._validation import N_TASKS, Constraints
from manyheads.aggregation._seeded import SEEDED, SeededMethod
from manyheads.weighting.base import Weighting

__all__ = ["RLW"]


class RLW(SeededMethod, Weighting):
    r"""Random loss weighting (Lin et al., TMLR 2022, "Reasonable Effectiveness of Random
    Weighting: A Litmus Test for Multi-Task Learning").

    At every step :math:`\lambda \sim \mathcal N(0, I_T)` and the weights are
    :math:`\mathrm{softmax}(\lambda)` (their Eq. 4 with the normal distribution, the paper's
    default), so they sum to 1. The draws come from a seeded generator whose state is a buffer
    (deterministic, and resumed from checkpoints).

    Args:
        n_tasks: the number of tasks T.
        seed: seed of the draws.

    Example:
        >>> round(float(RLW(3)(torch.ones(3)).sum()), 6)
        1.0
    """

    _parameter_constraints: ClassVar[Constraints] = {**N_TASKS, **SEEDED}

    def __init__(self, n_tasks: int, *, seed: int = 0) -> None:
        super().__init__(n_tasks, seed=seed)

    def forward(self, losses: Tensor) -> Tensor:
        draw = self.rng.draw(lambda g: torch.randn(self.n_tasks, generator=g))
        return torch.softmax(draw, dim=0).to(losses.device, losses.dtype)
