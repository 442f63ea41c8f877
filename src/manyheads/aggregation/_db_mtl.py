"""DB-MTL: balance loss scales with a log transform and gradient magnitudes to the largest."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from manyheads._validation import N_TASKS, NON_NEGATIVE, POSITIVE, RATE, Constraints
from manyheads.aggregation._lazy import LazyStateMixin
from manyheads.aggregation._task_state import TaskStateMixin
from manyheads.aggregation.base import JacobianTarget, RunningJacobianAggregator

__all__ = ["DBMTL"]


class DBMTL(TaskStateMixin, LazyStateMixin, RunningJacobianAggregator):
    r"""Dual-balancing multi-task learning (Lin et al., 2023, "Dual-Balancing for Multi-Task
    Learning").

    Loss-scale balancing: each task minimises :math:`\log(L_t + \epsilon)`, whose gradient is
    :math:`g_t / (L_t + \epsilon)` (their Eq. 3). Gradient-magnitude balancing: an EMA
    :math:`\hat g_t \leftarrow \beta_k \hat g_t + (1 - \beta_k)\nabla \log(L_t + \epsilon)`
    with :math:`\beta_k = \beta / k^{\sigma}` at step :math:`k = 1, 2, \dots` (Eq. 4), starting
    from :math:`\hat g_t = 0` as the authors' code (LibMTL's ``DB_MTL``) does, so that step 1 is
    :math:`(1 - \beta)\nabla \log(L_t + \epsilon)`; and the update
    :math:`\sum_t \frac{\max_s \|\hat g_s\|}{\|\hat g_t\| + 10^{-8}} \hat g_t` (Eq. 5, with
    the authors' :math:`10^{-8}`), every task scaled to the largest gradient norm. The issue
    lists it with the loss weightings; it needs the per-task gradients, so it is an aggregator
    that also reads the step's losses (:meth:`observe_losses`). ``ema`` [T, P] and ``step`` are
    buffers saved with checkpoints.

    Args:
        n_tasks: the number of tasks T.
        beta: EMA factor :math:`\beta` in [0, 1).
        beta_sigma: decay exponent :math:`\sigma` >= 0.
        eps: :math:`\epsilon` inside the logarithm.

    Example:
        >>> m = DBMTL(2)
        >>> m.observe_losses(torch.tensor([1.0, 1.0]))
        >>> m(torch.tensor([[2.0, 0.0], [0.0, 1.0]]))  # step 1: (1 - 0.9) · the gradients
        tensor([0.2000, 0.2000])
    """

    _lazy_buffers = ("ema",)
    ema: Tensor
    losses: Tensor

    _parameter_constraints: ClassVar[Constraints] = {
        **N_TASKS,
        "beta": [RATE],
        "beta_sigma": [NON_NEGATIVE],
        "eps": [POSITIVE],
    }

    def __init__(
        self, n_tasks: int, *, beta: float = 0.9, beta_sigma: float = 0.5, eps: float = 1e-8
    ) -> None:
        super().__init__(n_tasks)
        self.beta, self.beta_sigma, self.eps = float(beta), float(beta_sigma), float(eps)
        self.register_buffer("ema", torch.zeros(0))
        self.register_counter()
        self._squares: Tensor | None = None  # the step's sums over the written blocks
        self.register_task_buffer("losses", 1.0, persistent=False)

    def observe_losses(self, losses: Tensor) -> None:
        self.losses = losses.detach().clone()

    def jacobian_target(self, n_params: int, like: Tensor) -> JacobianTarget:
        # Eq. 4 is the engine's write, ema <- beta_k ema + (1 - beta_k) J_t / (L_t + eps),
        # fused into the matrix products that compute J (a fresh EMA is zero, as in the
        # authors' code: keep = 0 then); the row norms are summed per written block, in cache.
        self.step.add_(1)
        inverse = 1.0 / (self.losses.to(like) + self.eps)  # ∇ log(L + ε) = g / (L + ε)
        squares = like.new_zeros(self.n_tasks)
        self._squares = squares

        def visit(block: Tensor, start: int) -> None:
            del start
            squares.add_(torch.linalg.vecdot(block, block))

        beta = self.decayed(self.beta, self.beta_sigma)
        if self.ema.shape != (self.n_tasks, n_params) or self.ema.dtype != like.dtype:
            self.ema = like.new_empty(self.n_tasks, n_params)
            return JacobianTarget(self.ema, 0.0, (1.0 - beta) * inverse, visit)
        return JacobianTarget(self.ema, beta, (1.0 - beta) * inverse, visit)

    def aggregate_target(self, target: JacobianTarget) -> Tensor:
        if self._squares is None:
            raise RuntimeError("DBMTL.aggregate_target needs jacobian_target() first")
        norms = self._squares.clamp(min=0.0).sqrt()  # [T]
        scale = norms.max() / (norms + 1e-8)  # the authors' 1e-8 (a zero row stays zero)
        update: Tensor = scale.to(target.buffer.dtype) @ target.buffer
        return update

    def reset(self) -> None:
        self.ema = torch.zeros(0, device=self.step.device)
        self.step.zero_()
