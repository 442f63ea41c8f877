"""Nash-MTL: the Nash bargaining solution, weights with G α = 1/α."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from manyheads._validation import COUNT, N_TASKS, Constraints
from manyheads.aggregation._newton import damped_newton_step, unit_gramian
from manyheads.aggregation._task_state import TaskStateMixin
from manyheads.aggregation.base import GramianAggregator, solve_active

__all__ = ["NashMTL", "nash_weights"]


def _newton(gram: Tensor, alpha: Tensor, *, tol: float, max_iters: int) -> tuple[Tensor, bool]:
    """Damped Newton on ``f(α) = ½ αᵀGα - Σ log α``; returns ``(α, converged)``."""

    def f(a: Tensor) -> float:
        return float(0.5 * a @ gram @ a - a.log().sum())

    for _ in range(max_iters):
        g_alpha = gram @ alpha
        if float((alpha * g_alpha - 1.0).abs().max()) < tol:
            return alpha, True
        grad = g_alpha - 1.0 / alpha
        hess = gram + torch.diag(1.0 / alpha**2)
        stepped = damped_newton_step(alpha, grad, hess, f)
        if stepped is None:  # α diverging: no solution (Pareto stationary)
            return alpha, False
        alpha = stepped
    g_alpha = gram @ alpha
    return alpha, float((alpha * g_alpha - 1.0).abs().max()) < tol


def nash_weights(
    gramian: Tensor, start: Tensor | None = None, *, tol: float = 1e-10, max_iters: int = 100
) -> Tensor:
    r"""Solve :math:`G\alpha = 1/\alpha`, :math:`\alpha > 0`, by damped Newton steps.

    The equation is the stationarity condition of the strictly convex
    :math:`f(\alpha) = \frac12 \alpha^\top G \alpha - \sum_t \log \alpha_t`, so Newton's
    method with a backtracking line search that keeps :math:`\alpha > 0` converges from any
    positive start. It is solved in float64 on the unit-diagonal Gramian
    :math:`\hat G = D G D`, :math:`D = \mathrm{diag}(1/\|g_t\|)`: with :math:`\alpha = D\beta`
    the condition is exactly :math:`\hat G \beta = 1/\beta`, so gradient norms that differ by
    many orders of magnitude neither bias the solution nor spoil the conditioning. It stops when
    :math:`\max_t |\alpha_t (G\alpha)_t - 1| <` ``tol``. ``G`` must have a positive diagonal
    (see :func:`solve_active`).

    A solution exists unless a non-negative combination of the gradients is zero (a Pareto
    stationary point, where the bargaining problem is unbounded); only then, when Newton does not
    converge, the condition is solved for :math:`\hat G + 10^{-10} I` instead, which keeps the
    weights finite at the same relative scale for every task.

    Example:
        >>> nash_weights(torch.tensor([[4.0, 0.0], [0.0, 1.0]]))
        tensor([0.5000, 1.0000])
    """
    d, unit = unit_gramian(gramian)  # α = d ⊙ β
    n = unit.shape[0]
    beta = torch.full((n,), n**-0.5, dtype=torch.float64)
    if start is not None and len(start) == n and bool((start > 0).all()):
        beta = start.detach().double().cpu() / d
    solved, converged = _newton(unit, beta, tol=tol, max_iters=max_iters)
    if not converged:
        ridge = unit + 1e-10 * torch.eye(n, dtype=torch.float64)
        solved, _ = _newton(
            ridge, torch.full((n,), n**-0.5, dtype=torch.float64), tol=tol, max_iters=max_iters
        )
    out: Tensor = (d * solved).to(gramian.device, gramian.dtype)
    return out


class NashMTL(TaskStateMixin, GramianAggregator):
    r"""Nash-MTL (Navon et al., ICML 2022, "Multi-Task Learning as a Bargaining Game").

    The update :math:`\sum_t \alpha_t g_t` with :math:`\alpha` the solution of their Eq. (4)
    (Theorem 5.1), :math:`G^\top G \alpha = 1/\alpha` with :math:`G` the matrix of task gradients,
    i.e. ``gramian @ alpha == 1 / alpha``. The authors approximate it by a sequence of convex
    programs (cvxpy, ECOS) on the Gramian divided by its Frobenius norm, with constraints
    :math:`\alpha_t (G\alpha)_t \ge 1` in the original scale, so their weights are on this
    scale too; we solve the condition by Newton's method on its convex potential to a relative
    residual below 1e-10 (:func:`nash_weights`, no regulariser). The previous solution (buffer
    ``alpha``, saved with checkpoints) warm-starts the next and is reused between updates when
    ``update_every > 1`` (the authors' speed-up). Tasks with an all-zero gradient are left out.
    Clip with the trainer's ``clip_norm`` (the authors clip at 1).

    Args:
        n_tasks: the number of tasks T.
        update_every: recompute the weights every this many steps.

    Example:
        >>> NashMTL(2)(torch.tensor([[2.0, 0.0], [0.0, 1.0]]))
        tensor([1., 1.])
    """

    supports_rep_grad: ClassVar[bool] = False
    alpha: Tensor

    _parameter_constraints: ClassVar[Constraints] = {**N_TASKS, "update_every": [COUNT]}

    def __init__(self, n_tasks: int, *, update_every: int = 1) -> None:
        super().__init__(n_tasks)
        self.update_every = update_every
        self.register_task_buffer("alpha", dtype=torch.float64)
        self.register_counter()

    def weights(self, gramian: Tensor) -> Tensor:
        alpha: Tensor = self.alpha
        step: Tensor = self.step
        if int(step) % self.update_every == 0 or not bool((alpha > 0).any()):
            active = gramian.diagonal() > 0
            start = alpha[active.cpu()] if bool((alpha[active.cpu()] > 0).all()) else None
            solved = solve_active(
                gramian.double(),
                lambda g: nash_weights(
                    g, start if start is not None and len(start) == len(g) else None
                ),
            )
            alpha.copy_(solved.to(alpha.device))
        step.add_(1)
        return alpha.to(gramian.device, gramian.dtype)

    def reset(self) -> None:
        self.alpha.zero_()
        self.step.zero_()
