"""MGDA: the minimum-norm point of the convex hull of the task gradients, solved exactly."""

from __future__ import annotations

import numpy as np
import quadprog  # type: ignore[import-not-found]  # no stubs; installed with torchjd[quadprog]
import torch
from torch import Tensor

from manyheads.aggregation.base import GramianAggregator, solve_active

__all__ = ["MGDA", "min_norm_weights"]


def _objective(gram: np.ndarray, w: np.ndarray) -> float:
    return float(w @ gram @ w)


def _support_solution(gram: np.ndarray, support: np.ndarray) -> np.ndarray | None:
    """The minimiser of ``wᵀGw`` with ``Σw = 1`` and ``w = 0`` off ``support`` (KKT system)."""
    sub = gram[np.ix_(support, support)]
    k = sub.shape[0]
    kkt = np.zeros((k + 1, k + 1))
    kkt[:k, :k] = sub
    kkt[:k, k] = kkt[k, :k] = 1.0
    rhs = np.zeros(k + 1)
    rhs[k] = 1.0
    solution = np.linalg.lstsq(kkt, rhs, rcond=None)[0][:k]
    if not np.isfinite(solution).all() or (solution < 0).any():
        return None
    w = np.zeros(gram.shape[0])
    w[support] = solution / solution.sum()
    return w


def min_norm_weights(gramian: Tensor) -> Tensor:
    r"""The weights :math:`\alpha \in \Delta` minimising :math:`\alpha^\top G \alpha`.

    ``G`` must have a positive diagonal (no zero gradient: see :func:`solve_active`). T = 2 uses
    the closed form :math:`\alpha_1 = \mathrm{clip}((G_{22} - G_{12}) / (G_{11} + G_{22} -
    2G_{12}), 0, 1)`. For T > 2 the quadratic program is solved by quadprog's active-set method
    (Goldfarb-Idnani, finite) in float64 after the change of variables
    :math:`\alpha_t = u_t / \|g_t\|` (unit diagonal, so that gradients of very different norms do
    not ruin the conditioning), with a ridge of ``1e-12`` (plus twice any negative eigenvalue
    left by round-off) that keeps the program strictly convex; the ridge's bias is then removed by
    solving the KKT system on the solution's support (kept when feasible and no worse). On the
    tested input families (``tests/unit/aggregation/test_exact.py``) the update is within 1e-6
    relative of an exhaustive KKT solution in float64.

    Example:
        >>> min_norm_weights(torch.tensor([[4.0, 0.0], [0.0, 1.0]]))
        tensor([0.2000, 0.8000])
    """
    gram = gramian.detach().double().cpu().numpy()
    gram = 0.5 * (gram + gram.T)
    n = gram.shape[0]
    if n == 1:
        w = np.ones(1)
    elif n == 2:
        denom = gram[0, 0] + gram[1, 1] - 2.0 * gram[0, 1]  # ‖g1 - g2‖²
        gamma = 0.5 if denom <= 0 else (gram[1, 1] - gram[0, 1]) / denom
        gamma = min(max(gamma, 0.0), 1.0)
        w = np.array([gamma, 1.0 - gamma])
    else:
        d = 1.0 / np.sqrt(gram.diagonal())  # α = d ⊙ u
        unit = gram * d[:, None] * d[None, :]
        constraints = np.concatenate([d[:, None], np.eye(n)], axis=1)  # [n, 1 + n]
        bounds = np.concatenate([[1.0], np.zeros(n)])
        # a Gramian computed in float32 may have eigenvalues a little below 0: shift them up
        ridge = 1e-12 + 2.0 * max(0.0, -float(np.linalg.eigvalsh(unit)[0]))
        u = quadprog.solve_qp(unit + ridge * np.eye(n), np.zeros(n), constraints, bounds, 1)[0]
        w = np.clip(d * u, 0.0, None)
        w = w / w.sum()
        support = np.flatnonzero(u > 1e-9 * u.max())
        polished = _support_solution(gram, support)
        if polished is not None and _objective(gram, polished) <= _objective(gram, w):
            w = polished
    return torch.from_numpy(w).to(gramian.device, gramian.dtype)


class MGDA(GramianAggregator):
    r"""Multiple-gradient descent (Sener & Koltun, NeurIPS 2018, "Multi-Task Learning as
    Multi-Objective Optimization").

    Solves Eq. (3), :math:`\min_{\alpha \in \Delta} \|\sum_t \alpha_t g_t\|^2`, on the Gramian
    to float64 precision (:func:`min_norm_weights`: the closed form for T = 2, a quadratic
    program with a KKT polish otherwise; the paper's Frank-Wolfe solver, Algorithm 2, stops at
    a tolerance); the update is :math:`\sum_t \alpha_t g_t`. With ``rep_grad`` it is MGDA-UB
    (Section 3.3): the gradients are taken at the shared representation. Tasks with an all-zero
    gradient (no labels in the batch) are left out rather than collapsing the update to zero.
    The gradients are used as they are (no gradient normalisation).

    Args:
        n_tasks: the number of tasks T.

    Example:
        >>> MGDA(2)(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        tensor([0.5000, 0.5000])
    """

    def weights(self, gramian: Tensor) -> Tensor:
        return solve_active(gramian, min_norm_weights)
