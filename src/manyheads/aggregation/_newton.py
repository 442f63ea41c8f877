"""The steps shared by the Gramian solvers of Nash-MTL and FairGrad: the unit-diagonal Gramian
they solve on, and a damped Newton step that keeps the weights positive."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["damped_newton_step", "unit_gramian"]


def unit_gramian(gramian: Tensor) -> tuple[Tensor, Tensor]:
    """``(d, Ĝ)``: the inverse gradient norms ``d = diag(G)^{-1/2}`` and the unit-diagonal
    ``Ĝ = DGD`` of the symmetrised ``G``, in float64 on the CPU.

    Example:
        >>> unit_gramian(torch.tensor([[4.0, 2.0], [2.0, 1.0]]))
        (tensor([0.5000, 1.0000], dtype=torch.float64), tensor([[1., 1.],
                [1., 1.]], dtype=torch.float64))
    """
    gram = gramian.detach().double().cpu()
    gram = 0.5 * (gram + gram.T)
    d = gram.diagonal().rsqrt()
    return d, gram * d[:, None] * d[None, :]


def damped_newton_step(
    x: Tensor, grad: Tensor, hess: Tensor, objective: Callable[[Tensor], float]
) -> Tensor | None:
    """``x - t H⁻¹ g`` with the largest ``t`` in 1, 1/2, 1/4 ... that keeps ``x > 0`` and does
    not increase ``objective``; None when the Hessian is singular or no ``t`` >= 1e-12 works
    (the weights diverge: no solution).

    Example:
        >>> x = torch.tensor([2.0])
        >>> damped_newton_step(x, torch.tensor([1.0]), torch.tensor([[1.0]]), lambda a: float(a**2))
        tensor([1.])
    """
    try:
        step: Tensor = torch.linalg.solve(hess, grad)
    except RuntimeError:
        return None
    t, current = 1.0, objective(x)
    while bool(((x - t * step) <= 0).any()) or objective(x - t * step) > current:
        t *= 0.5
        if t < 1e-12:
            return None
    return x - t * step
