"""MoCo: multi-objective gradient correction with a tracked Jacobian and running weights."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from manyheads._validation import (
    N_TASKS,
    NON_NEGATIVE,
    POSITIVE,
    Constraints,
    Interval,
)
from manyheads.aggregation._lazy import LazyStateMixin
from manyheads.aggregation._task_state import TaskStateMixin
from manyheads.aggregation.base import JacobianTarget, RunningJacobianAggregator

__all__ = ["MoCo", "project_simplex"]


def project_simplex(v: Tensor) -> Tensor:
    """Euclidean projection of ``v`` [T] onto the probability simplex (sort-based).

    Example:
        >>> project_simplex(torch.tensor([2.0, 0.0]))
        tensor([1., 0.])
    """
    u, _ = torch.sort(v, descending=True)
    cumulative = u.cumsum(0) - 1.0
    index = torch.arange(1, v.numel() + 1, device=v.device, dtype=v.dtype)
    rho = int((u - cumulative / index > 0).nonzero().max())
    theta = cumulative[rho] / (rho + 1)
    return (v - theta).clamp(min=0.0)


class MoCo(TaskStateMixin, LazyStateMixin, RunningJacobianAggregator):
    r"""MoCo (Fernando et al., ICLR 2023, "Mitigating Gradient Bias in Multi-objective Learning:
    A Provably Convergent Approach").

    Tracks the Jacobian, :math:`Y_{k+1} = Y_k - \beta_k (Y_k - J_k)` (their Eq. 9), updates the
    weights by a projected gradient step,
    :math:`\lambda_{k+1} = \Pi_\Delta(\lambda_k - \gamma_k (Y Y^\top + \rho I)\lambda_k)`
    (Eq. 10), and returns :math:`Y_{k+1}^\top \lambda_{k+1}` (Eq. 11), with
    :math:`\beta_k = \beta / k^{\sigma_\beta}`, :math:`\gamma_k = \gamma / k^{\sigma_\gamma}`. So
    that :math:`\gamma` does not depend on the scale of the gradients, the Gramian in the
    :math:`\lambda` step is divided by its largest diagonal entry. ``y``, ``lambd`` and ``step``
    are buffers (saved with checkpoints; ``y`` takes its shape at the first step).

    Args:
        n_tasks: the number of tasks T.
        beta: tracking rate :math:`\beta` in (0, 1].
        beta_sigma: decay exponent of :math:`\beta_k`.
        gamma: step size :math:`\gamma` > 0 of the weights.
        gamma_sigma: decay exponent of :math:`\gamma_k`.
        rho: regularisation :math:`\rho` >= 0.

    Example:
        >>> MoCo(2)(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        tensor([0.2500, 0.2500])
    """

    supports_rep_grad: ClassVar[bool] = False
    _lazy_buffers = ("y",)
    y: Tensor
    lambd: Tensor

    _parameter_constraints: ClassVar[Constraints] = {
        **N_TASKS,
        "beta": [Interval(float, 0, 1, closed="right")],
        "beta_sigma": [NON_NEGATIVE],
        "gamma": [POSITIVE],
        "gamma_sigma": [NON_NEGATIVE],
        "rho": [NON_NEGATIVE],
    }

    def __init__(
        self,
        n_tasks: int,
        *,
        beta: float = 0.5,
        beta_sigma: float = 0.5,
        gamma: float = 0.1,
        gamma_sigma: float = 0.5,
        rho: float = 0.0,
    ) -> None:
        super().__init__(n_tasks)
        self.beta, self.beta_sigma = float(beta), float(beta_sigma)
        self.gamma, self.gamma_sigma, self.rho = float(gamma), float(gamma_sigma), float(rho)
        self.register_buffer("y", torch.zeros(0))
        self.register_task_buffer("lambd", 1.0 / n_tasks)
        self.register_counter()
        # the step's weights and sums over the written blocks: (λ, Y Yᵀ λ, diag Y Yᵀ)
        self._pending: tuple[Tensor, Tensor, Tensor] | None = None

    def jacobian_target(self, n_params: int, like: Tensor) -> JacobianTarget:
        # Eq. 9 is the engine's write, y <- (1 - beta_k) y + beta_k J, fused into the matrix
        # products that compute J. The weight step needs only Y Yᵀ λ and diag(Y Yᵀ), not the
        # T x T Gramian (T² P multiply-adds): per written block, u = Yᵀλ and Y u, in cache.
        self.step.add_(1)
        beta = self.decayed(self.beta, self.beta_sigma)
        if self.y.shape != (self.n_tasks, n_params) or self.y.dtype != like.dtype:
            self.y = like.new_zeros(self.n_tasks, n_params)
        lambd = self.lambd.to(like.dtype)
        gram_lambd, diagonal = like.new_zeros(self.n_tasks), like.new_zeros(self.n_tasks)
        self._pending = (lambd, gram_lambd, diagonal)

        def visit(block: Tensor, start: int) -> None:
            del start
            gram_lambd.addmv_(block, lambd @ block)  # Y (Yᵀ λ)
            diagonal.add_(torch.linalg.vecdot(block, block))  # ||y_t||²

        return JacobianTarget(self.y, 1.0 - beta, like.new_full((self.n_tasks,), beta), visit)

    def aggregate_target(self, target: JacobianTarget) -> Tensor:
        if self._pending is None:
            raise RuntimeError("MoCo.aggregate_target needs jacobian_target() first")
        lambd, gram_lambd, diagonal = self._pending
        scale = diagonal.max().clamp(min=torch.finfo(diagonal.dtype).tiny)  # largest ||y_t||²
        gamma = self.decayed(self.gamma, self.gamma_sigma)
        lambd = project_simplex(lambd - gamma * (gram_lambd / scale + self.rho * lambd))
        self.lambd.copy_(lambd)
        return lambd @ target.buffer

    def reset(self) -> None:
        self.y = torch.zeros(0, device=self.lambd.device)
        self.lambd.fill_(1.0 / self.n_tasks)
        self.step.zero_()
