"""GradDrop: keep, per coordinate, only the gradients of one sign, drawn by sign purity."""

from __future__ import annotations

from functools import partial
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from manyheads._validation import N_TASKS, UNIT_INTERVAL, Constraints
from manyheads.aggregation._seeded import SEEDED, SeededMethod
from manyheads.aggregation.base import ColumnwiseAggregator

__all__ = ["GradDrop"]


def _uniform(n: int, generator: torch.Generator) -> Tensor:
    return torch.rand(n, generator=generator)


class GradDrop(SeededMethod, ColumnwiseAggregator):
    r"""Gradient sign dropout (Chen et al., NeurIPS 2020, "Just Pick a Sign: Optimizing Deep
    Multitask Models with Gradient Sign Dropout").

    Per coordinate, the sign purity :math:`P = \frac12 (1 + \frac{\sum_t g_t}{\sum_t |g_t|})`
    (their Eq. 1) and one uniform draw :math:`U` give the masks
    :math:`M_t = \mathbb 1[P > U]\mathbb 1[g_t > 0] + \mathbb 1[P < U]\mathbb 1[g_t < 0]`
    (Eq. 2); the update is :math:`\sum_t (\ell + (1 - \ell) M_t) g_t` with the leak
    :math:`\ell` (0 in the paper's main results). The paper applies it to the gradients at the
    shared activations :math:`A` (``rep_grad``, :meth:`aggregate_features`): there the gradients
    are first multiplied by :math:`\mathrm{sign}(A)` and summed over the batch (Section 3.3,
    "batch-separated gradients"; LibMTL does the same), so that :math:`P`, :math:`U` and the
    masks are per feature, and each sample's gradient :math:`\nabla_A L_t` is then masked by its
    feature's :math:`M_t`. On the shared parameters it is the same rule per weight.
    :math:`U` is drawn with 15 bits of resolution (:math:`U = (k + 1/2)/2^{15}`, so the keep
    probability differs from :math:`P` by at most :math:`2^{-16}`): each step takes a seed
    from a generator stored in the state dict and draws with NumPy's SFC64 on a CPU, with the
    device's torch generator elsewhere. The rule reads one coordinate's column at a time, so
    the engine streams the Jacobian in blocks and never holds ``[T, P]``.

    Args:
        n_tasks: the number of tasks T.
        leak: the leak :math:`\ell` in [0, 1] (1 recovers the plain sum).
        seed: seed of the draws.

    Example:
        >>> GradDrop(2)(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        tensor([4., 6.])
    """

    _parameter_constraints: ClassVar[Constraints] = {**N_TASKS, "leak": [UNIT_INTERVAL], **SEEDED}

    def __init__(self, n_tasks: int, *, leak: float = 0.0, seed: int = 0) -> None:
        super().__init__(n_tasks, seed=seed)
        self.leak = float(leak)
        self._draws: Tensor | None = None  # this step's random words (not state: redrawn)
        self._scratch: Tensor | None = None  # two work rows of a block

    def aggregate_features(self, grads: Tensor, features: list[Tensor]) -> Tensor:
        """GradDrop at the shared features (the paper's setting): purity per feature over
        the batch, masks applied to every sample's gradient.

        Example:
            >>> a = torch.tensor([[1.0, -1.0], [1.0, 1.0]])  # [B = 2, D = 2]
            >>> j = torch.tensor([[1.0, 2.0, 3.0, 4.0], [-1.0, 1.0, -1.0, 1.0]])  # [T, B·D]
            >>> GradDrop(2).aggregate_features(j, [a]).shape
            torch.Size([4])
        """
        n_tasks = grads.shape[0]
        pieces, offset = [], 0
        for feature in features:
            n = feature.numel()
            g = grads[:, offset : offset + n].detach().reshape(n_tasks, feature.shape[0], -1)
            sign = feature.detach().reshape(1, feature.shape[0], -1).sign().to(g.dtype)
            pure = (g * sign).sum(dim=1)  # [T, D]: sign(A) ∘ ∇_A L_t summed over the batch
            purity = 0.5 * (1.0 + pure.sum(0) / pure.abs().sum(0).clamp(min=1e-30))  # [D]
            u = self.rng.draw(partial(_uniform, pure.shape[1]))  # U per feature [D]
            u = u.to(g.device, g.dtype)
            keep = (purity > u) & (pure > 0) | (purity < u) & (pure < 0)  # [T, D]
            factor = self.leak + (1.0 - self.leak) * keep.to(g.dtype)
            pieces.append((g * factor.unsqueeze(1)).sum(0).reshape(-1))  # [B·D]
            offset += n
        return torch.cat(pieces)

    def reset(self) -> None:
        super().reset()
        self._draws = None

    def begin(self, n_params: int, like: Tensor) -> None:
        # One draw per coordinate for the whole step (the blocks read slices): 15 random bits
        # each, four per 64-bit word. A float32 uniform_ per coordinate cost 7-16 ms per step
        # over 1.6 M parameters on this CPU, more than a whole `ew` step; torch's CPU generator
        # (MT19937) still took 1.4 ms for the words, NumPy's SFC64 takes half that.
        words = -(-n_params // 4)
        if like.device.type == "cpu":
            raw = np.random.SFC64(self.rng.seed()).random_raw(words).view(np.int64)
            draws = torch.from_numpy(raw)
        else:
            draws = self._draws if self._draws is not None else torch.empty(0, dtype=torch.int64)
            if (draws.numel(), draws.device) != (words, like.device):
                draws = torch.empty(words, dtype=torch.int64, device=like.device)
            draws.random_(generator=self.rng.device_generator(like.device))
        self._draws = draws.bitwise_and_(0x7FFF_7FFF_7FFF_7FFF)  # 16-bit pieces: k < 2^15

    def combine(self, columns: Tensor, start: int, out: Tensor) -> None:
        n_tasks, n = columns.shape
        if self._draws is None or 4 * self._draws.numel() < start + n:
            raise RuntimeError("GradDrop.combine was called outside a step: call begin() first")
        k = self._draws.view(torch.int16)[start : start + n]
        grads = columns.detach()
        scratch = self._scratch
        if (
            scratch is None
            or scratch.shape[1] < n
            or scratch.dtype != grads.dtype
            or scratch.device != grads.device
        ):
            scratch = grads.new_empty(2, n)
            self._scratch = scratch  # kept across blocks and steps, never saved
        l1, work = scratch[0, :n], scratch[1, :n]
        # total = Σ g_t into `out`, l1 = Σ |g_t|: row by row for few tasks (3x faster than a
        # reduction over dim 0 at T = 2), reductions for many
        if n_tasks <= 4:
            if n_tasks == 1:
                out.copy_(grads[0])
            else:
                torch.add(grads[0], grads[1], out=out)
            for row in grads[2:]:
                out.add_(row)
            torch.abs(grads[0], out=l1)
            for row in grads[1:]:
                l1.add_(torch.abs(row, out=work))
        else:
            torch.sum(grads, dim=0, out=out)
            torch.sum(grads.abs(), dim=0, out=l1)
        # P > U  <=>  Σ g - (2U - 1) Σ|g| > 0, with U = (k + 1/2) / 2^15; the kept side's sum
        # is (Σ g + s Σ|g|) / 2 with s the sign of that margin
        torch.add(out, l1, alpha=1.0 - 2.0**-15, out=work).addcmul_(k, l1, value=-(2.0**-14))
        l1.mul_(work.sign_())  # s Σ|g| (faster than copysign_; s = 0 only at an exact tie)
        if self.leak == 0.0:
            out.lerp_(l1, 0.5)
        else:
            torch.lerp(out, l1, 0.5, out=work)
            out.lerp_(work, 1.0 - self.leak)  # leak · Σ g + (1 - leak) · kept
