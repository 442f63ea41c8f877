"""CAGrad: the best worst-case improvement within a ball around the average gradient."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from manyheads._validation import N_TASKS, NON_NEGATIVE, Constraints
from manyheads.aggregation.base import REDUCTION, GramianAggregator

__all__ = ["CAGrad", "cagrad_weights"]


def cagrad_weights(gramian: Tensor, c: float) -> Tensor:
    r"""Weights ``[T]`` of the CAGrad update from the Gramian (the authors' dual, solved by SLSQP).

    Example:
        >>> cagrad_weights(torch.eye(2), 0.0)
        tensor([0.5000, 0.5000])
    """
    from scipy.optimize import minimize  # scipy takes ~0.5 s to import: only when cagrad runs

    gram = gramian.detach().double().cpu().numpy()
    n = gram.shape[0]
    uniform = np.full(n, 1.0 / n)
    g0_norm = float(np.sqrt(max(uniform @ gram @ uniform, 0.0) + 1e-8))
    radius = c * g0_norm + 1e-8
    g0_dots = gram @ uniform  # g_t . g_0

    def objective(w: np.ndarray) -> float:
        return float(w @ g0_dots + radius * np.sqrt(max(w @ gram @ w, 0.0) + 1e-8))

    result = minimize(
        objective,
        uniform,
        bounds=[(0.0, 1.0)] * n,
        constraints=({"type": "eq", "fun": lambda w: 1.0 - w.sum()},),
        method="SLSQP",
    )
    w = np.clip(result.x, 0.0, None)
    gw_norm = float(np.sqrt(max(w @ gram @ w, 0.0)))
    weights = uniform + (radius / (gw_norm + 1e-8)) * w
    out = torch.from_numpy(weights / (1.0 + c**2))
    return out.to(gramian.device, gramian.dtype)


class CAGrad(GramianAggregator):
    r"""Conflict-averse gradient descent (Liu et al., NeurIPS 2021, "Conflict-Averse Gradient
    Descent for Multi-task Learning").

    Maximises the worst task improvement :math:`\min_t g_t^\top d` over
    :math:`\|d - g_0\| \le c\|g_0\|` with :math:`g_0` the mean gradient (their Eq. 2). Through
    the dual (Eq. 3): :math:`w^* = \arg\min_{w \in \Delta} g_w^\top g_0 + \sqrt\phi \|g_w\|`,
    :math:`\phi = c^2 \|g_0\|^2`, and :math:`d = g_0 + \frac{\sqrt\phi}{\|g_{w^*}\|} g_{w^*}`,
    rescaled by :math:`1 / (1 + c^2)` as in the authors' code. The dual is solved on the Gramian
    with SciPy's SLSQP (the authors' solver, default tolerance), so TorchJD's cvxpy extra is not
    needed. By default (``reduction="sum"``) the update is then multiplied by T, as the authors'
    code does "to match the sum loss" (``overwrite_grad`` in their NYUv2 and Cityscapes
    experiments): their learning rates assume this step, which is that of the sum of the losses
    when the gradients agree. ``reduction="mean"`` gives the 1/T scale of the paper's
    :math:`d` (and of LibMTL and TorchJD).

    Args:
        n_tasks: the number of tasks T.
        c: the radius scale, >= 0 (0 gives the mean gradient, times T by default).
        reduction: ``"sum"`` (the authors' step, default) or ``"mean"`` (1/T of it).

    Example:
        >>> CAGrad(2, c=0.0)(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        tensor([1., 1.])
        >>> CAGrad(2, c=0.0, reduction="mean")(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        tensor([0.5000, 0.5000])
    """

    supports_rep_grad: ClassVar[bool] = False

    _parameter_constraints: ClassVar[Constraints] = {
        **N_TASKS,
        "c": [NON_NEGATIVE],
        "reduction": [REDUCTION],
    }

    def __init__(self, n_tasks: int, *, c: float = 0.4, reduction: str = "sum") -> None:
        super().__init__(n_tasks)
        self.c = float(c)
        self.reduction = reduction

    def weights(self, gramian: Tensor) -> Tensor:
        weights = cagrad_weights(gramian, self.c)
        return weights * self.n_tasks if self.reduction == "sum" else weights
