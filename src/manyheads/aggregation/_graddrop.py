"""GradDrop: keep, per coordinate, only the gradients of one sign, drawn by sign purity."""

from __future__ import annotations

import torch
from torch import Tensor

from manyheads.aggregation._seeded import SeededRandom
from manyheads.aggregation.base import ColumnwiseAggregator
from manyheads.errors import InvalidParameterError

__all__ = ["GradDrop"]


class GradDrop(ColumnwiseAggregator):
    r"""Gradient sign dropout (Chen et al., NeurIPS 2020, "Just Pick a Sign: Optimizing Deep
    Multitask Models with Gradient Sign Dropout").

    Per coordinate, the sign purity :math:`P = \frac12 (1 + \frac{\sum_t g_t}{\sum_t |g_t|})`
    (their Eq. 1) and one uniform draw :math:`U` give the masks
    :math:`M_t = \mathbb 1[P > U]\mathbb 1[g_t > 0] + \mathbb 1[P < U]\mathbb 1[g_t < 0]`
    (Eq. 2); the update is :math:`\sum_t (\ell + (1 - \ell) M_t) g_t` with the leak
    :math:`\ell` (0 in the paper's main results). The paper applies it to the gradients at the
    shared activations (``rep_grad``); on the shared parameters it is the same rule per weight.
    :math:`U` is drawn with 15 bits of resolution (:math:`U = (k + 1/2)/2^{15}`, so the keep
    probability differs from :math:`P` by at most :math:`2^{-16}`) from a seeded generator
    stored in the state dict. The rule reads one
    coordinate's column at a time, so the engine streams the Jacobian in blocks and never holds
    ``[T, P]``.

    Args:
        n_tasks: the number of tasks T.
        leak: the leak :math:`\ell` in [0, 1] (1 recovers the plain sum).
        seed: seed of the draws.

    Example:
        >>> GradDrop(2)(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        tensor([4., 6.])
    """

    def __init__(self, n_tasks: int, *, leak: float = 0.0, seed: int = 0) -> None:
        super().__init__(n_tasks)
        if not 0.0 <= leak <= 1.0:
            raise InvalidParameterError(
                f"The 'leak' parameter of GradDrop must be a float in [0, 1]. Got {leak!r}."
            )
        self.leak = float(leak)
        self.rng = SeededRandom(seed)
        self._draws: Tensor | None = None  # this step's random words (not state: redrawn)

    def begin(self, n_params: int, like: Tensor) -> None:
        # One draw per coordinate for the whole step (the blocks read slices): 15 random bits
        # each, four per 64-bit word. A float32 uniform_ per coordinate cost 7-16 ms per step
        # over 1.6 M parameters on this CPU, more than a whole `ew` step.
        generator = self.rng.device_generator(like.device)
        words = -(-n_params // 4)
        draws = self._draws
        if draws is None or (draws.numel(), draws.device) != (words, like.device):
            draws = torch.empty(words, dtype=torch.int64, device=like.device)
            self._draws = draws  # kept: a fresh one costs page faults every step
        draws.random_(generator=generator)  # [0, 2^63): every 16-bit piece has 15 random bits

    def combine(self, columns: Tensor, start: int) -> Tensor:
        stop = start + columns.shape[1]
        if self._draws is None or 4 * self._draws.numel() < stop:
            raise RuntimeError("GradDrop.combine was called outside a step: call begin() first")
        bits = self._draws.view(torch.int16)[start:stop].bitwise_and(0x7FFF)  # k in [0, 2^15)
        # U = (k + 1/2) / 2^15 in (0, 1); below, 2U - 1
        sign = bits.to(columns.dtype).mul_(2.0**-14).add_(2.0**-15 - 1.0)
        grads = columns.detach()
        total = grads.sum(dim=0)  # [n]
        l1 = grads[0].abs()  # sum of |g_t|, row by row: no [T, n] temporary
        for row in grads[1:]:
            l1.add_(row.abs())
        sign.mul_(l1).sub_(total).neg_().sign_()  # s
        kept = l1.mul_(sign).add_(sign.abs_().mul_(total)).mul_(0.5)
        if self.leak == 0.0:
            return kept
        return kept.mul_(1.0 - self.leak).add_(total, alpha=self.leak)
