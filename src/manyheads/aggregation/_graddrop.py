"""GradDrop: keep, per coordinate, only the gradients of one sign, drawn by sign purity."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from manyheads.aggregation._seeded import SeededRandom
from manyheads.aggregation.base import Aggregator
from manyheads.errors import InvalidParameterError

__all__ = ["GradDrop"]


class GradDrop(Aggregator):
    r"""Gradient sign dropout (Chen et al., NeurIPS 2020, "Just Pick a Sign: Optimizing Deep
    Multitask Models with Gradient Sign Dropout").

    Per coordinate, the sign purity :math:`P = \frac12 (1 + \frac{\sum_t g_t}{\sum_t |g_t|})`
    (their Eq. 1) and one uniform draw :math:`U` give the masks
    :math:`M_t = \mathbb 1[P > U]\mathbb 1[g_t > 0] + \mathbb 1[P < U]\mathbb 1[g_t < 0]`
    (Eq. 2); the update is :math:`\sum_t (\ell + (1 - \ell) M_t) g_t` with the leak
    :math:`\ell` (0 in the paper's main results). The paper applies it to the gradients at the
    shared activations (``rep_grad``); on the shared parameters it is the same rule per weight.
    The draws come from a seeded generator stored in the state dict.

    Args:
        n_tasks: the number of tasks T.
        leak: the leak :math:`\ell` in [0, 1] (1 recovers the plain sum).
        seed: seed of the draws.

    Example:
        >>> GradDrop(2)(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        tensor([4., 6.])
    """

    reuses_jacobian: ClassVar[bool] = True  # keeps no reference to its input

    def __init__(self, n_tasks: int, *, leak: float = 0.0, seed: int = 0) -> None:
        super().__init__(n_tasks)
        if not 0.0 <= leak <= 1.0:
            raise InvalidParameterError(
                f"The 'leak' parameter of GradDrop must be a float in [0, 1]. Got {leak!r}."
            )
        self.leak = float(leak)
        self.rng = SeededRandom(seed)

    def forward(self, grads: Tensor) -> Tensor:
        # P > U  <=>  sum_t g_t > (2U - 1) sum_t |g_t|, so with s = sign(sum g - (2U - 1) sum |g|)
        # the kept sum is (sum g + s sum |g|) / 2 where s != 0, the positive part for s = 1 and
        # the negative part for s = -1, and 0 where s = 0 (no division; every [P] vector is
        # updated in place: fresh multi-megabyte temporaries cost page faults on every step).
        total = grads.sum(dim=0)  # [P]
        work = torch.empty_like(total)
        l1 = grads[0].abs()  # sum of |g_t|, row by row: no [T, P] temporary
        for row in grads[1:]:
            l1.add_(torch.abs(row, out=work))
        generator = self.rng.device_generator(grads.device)
        work.uniform_(generator=generator)  # U
        work.mul_(2.0).sub_(1.0).mul_(l1).sub_(total).neg_().sign_()  # s
        kept = l1.mul_(work).add_(work.abs_().mul_(total)).mul_(0.5)
        if self.leak == 0.0:
            return kept
        return kept.mul_(1.0 - self.leak).add_(total, alpha=self.leak)
