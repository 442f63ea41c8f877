"""Aligned-MTL: make the task gradients orthogonal with equal magnitudes (TorchJD)."""

from __future__ import annotations

from typing import ClassVar

from torch import Tensor

from manyheads._validation import N_TASKS, Constraints, StrOptions
from manyheads.aggregation.base import REDUCTION, GramianAggregator, solve_active

__all__ = ["AlignedMTL"]

_SCALES = ("min", "median", "rmse")


class AlignedMTL(GramianAggregator):
    r"""Aligned-MTL (Senushkin et al., CVPR 2023, "Independent Component Alignment for
    Multi-Task Learning").

    Replaces the Jacobian by :math:`\hat J = \sqrt{\lambda_{min}}\, U \Sigma^{-1} V^\top`
    (their Eq. 10: eigendecomposition of the Gramian, condition number 1, eigenvalues below
    ``max · T · eps`` dropped as rank-deficient), via TorchJD 0.18's ``AlignedMTLWeighting``, and
    returns the sum of its rows as the authors' code does (``grads[0].sum(-1)`` in their
    ``AlignedMTLBalancer``; their learning rates assume it). TorchJD returns the mean, 1/T of
    it: ``reduction="mean"``. With ``rep_grad`` it is Aligned-MTL-UB.

    Args:
        n_tasks: the number of tasks T.
        scale_mode: the eigenvalue that sets the scale: ``min`` (the paper), ``median`` or
            ``rmse``.
        reduction: ``"sum"`` (the authors' step, default) or ``"mean"`` (TorchJD's, 1/T of it).

    Example:
        >>> import torch
        >>> AlignedMTL(2)(torch.tensor([[2.0, 0.0], [0.0, 1.0]]))
        tensor([1., 1.])
    """

    _parameter_constraints: ClassVar[Constraints] = {
        **N_TASKS,
        "scale_mode": [StrOptions(_SCALES)],
        "reduction": [REDUCTION],
    }

    def __init__(self, n_tasks: int, *, scale_mode: str = "min", reduction: str = "sum") -> None:
        super().__init__(n_tasks)
        # TorchJD loads with the first solver built (``validate`` imports none)
        from torchjd.aggregation import AlignedMTLWeighting

        self.solver = AlignedMTLWeighting(scale_mode=scale_mode)  # type: ignore[arg-type]
        self.reduction = reduction

    def weights(self, gramian: Tensor) -> Tensor:
        if self.reduction == "mean":
            return solve_active(gramian, self.solver)
        # the sum of the aligned rows: a task without a gradient adds a zero row (rank cut)
        return solve_active(gramian, lambda sub: self.solver(sub) * sub.shape[0])
