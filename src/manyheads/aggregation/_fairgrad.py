"""FairGrad: alpha-fair utility maximisation over the task gradients."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from manyheads._validation import COUNT, N_TASKS, POSITIVE, Constraints
from manyheads.aggregation._newton import damped_newton_step, unit_gramian
from manyheads.aggregation.base import GramianAggregator, solve_active

__all__ = ["FairGrad", "fair_weights"]


def _potential(unit: Tensor, c: Tensor, alpha: float, beta: Tensor) -> float:
    if alpha == 1.0:
        utility = (c * beta.log()).sum()
    else:
        power = 1.0 - 1.0 / alpha
        utility = (c * beta**power / power).sum()
    return float(0.5 * beta @ unit @ beta - utility)


def fair_weights(
    gramian: Tensor, alpha: float = 1.0, *, tol: float = 1e-10, max_iters: int = 100
) -> Tensor:
    r"""Solve :math:`G w = w^{-1/\alpha}` (element-wise power), :math:`w > 0`, by damped Newton.

    The condition is the stationarity of the strictly convex
    :math:`\frac12 w^\top G w - \sum_t u(w_t)` with :math:`u'(w) = w^{-1/\alpha}` (the
    α-fair utility), so Newton's method with a backtracking line search that keeps
    :math:`w > 0` converges. It is solved in float64 with :math:`w = D\beta`,
    :math:`D = \mathrm{diag}(1/\|g_t\|)` (then :math:`\hat G \beta = d^{1-1/\alpha} \odot
    \beta^{-1/\alpha}` with the unit-diagonal :math:`\hat G = DGD`), so that gradient norms that
    differ by orders of magnitude keep the problem well conditioned, and stops when
    :math:`\max_t |(Gw)_t\, w_t^{1/\alpha} - 1| <` ``tol``. ``G`` must have a positive diagonal.
    Where no solution exists (a zero non-negative combination of the gradients), the condition is
    solved for :math:`\hat G + 10^{-10} I` instead.

    Example:
        >>> fair_weights(torch.tensor([[4.0, 0.0], [0.0, 1.0]]))
        tensor([0.5000, 1.0000])
    """
    d, unit = unit_gramian(gramian)
    n = unit.shape[0]
    c = d ** (1.0 - 1.0 / alpha)

    def solve(matrix: Tensor) -> tuple[Tensor, bool]:
        beta = c ** (alpha / (alpha + 1.0))  # the solution when the gradients are orthogonal
        for _ in range(max_iters):
            g_beta = matrix @ beta
            target = c * beta ** (-1.0 / alpha)
            if float((g_beta / target - 1.0).abs().max()) < tol:
                return beta, True
            grad = g_beta - target
            hess = matrix + torch.diag(target / (alpha * beta))
            stepped = damped_newton_step(
                beta, grad, hess, lambda b: _potential(matrix, c, alpha, b)
            )
            if stepped is None:  # β diverging: no solution (see above)
                return beta, False
            beta = stepped
        target = c * beta ** (-1.0 / alpha)
        return beta, float(((matrix @ beta) / target - 1.0).abs().max()) < tol

    beta, converged = solve(unit)
    if not converged:
        beta, _ = solve(unit + 1e-10 * torch.eye(n, dtype=torch.float64))
    out: Tensor = (d * beta).to(gramian.device, gramian.dtype)
    return out


class FairGrad(GramianAggregator):
    r"""FairGrad (Ban & Ji, ICML 2024, "Fair Resource Allocation in Multi-Task Learning").

    Solves their Eq. (4), :math:`G^\top G\, w = w^{-1/\alpha}` (element-wise power), to a
    relative residual below 1e-10 by Newton's method on its convex potential
    (:func:`fair_weights`; the authors and TorchJD 0.18 call SciPy's ``least_squares``, which
    stops early when the gradient norms differ by orders of magnitude), and returns
    :math:`\sum_t w_t g_t`. ``alpha = 1`` is proportional fairness (Nash-MTL's condition),
    ``alpha -> inf`` approaches max-min fairness. Tasks with an all-zero gradient are left out.

    Args:
        n_tasks: the number of tasks T.
        alpha: the fairness exponent, > 0.
        max_iters: the solver's Newton iteration budget (None: 100).

    Example:
        >>> FairGrad(2)(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        tensor([1., 1.])
    """

    supports_rep_grad: ClassVar[bool] = False

    _parameter_constraints: ClassVar[Constraints] = {
        **N_TASKS,
        "alpha": [POSITIVE],
        "max_iters": [COUNT, None],
    }

    def __init__(self, n_tasks: int, *, alpha: float = 1.0, max_iters: int | None = None) -> None:
        super().__init__(n_tasks)
        self.alpha = float(alpha)
        self.max_iters = 100 if max_iters is None else max_iters

    def weights(self, gramian: Tensor) -> Tensor:
        return solve_active(
            gramian, lambda sub: fair_weights(sub, self.alpha, max_iters=self.max_iters)
        )
