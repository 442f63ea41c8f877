"""FairGrad: alpha-fair utility maximisation over the task gradients (TorchJD's solver)."""

from __future__ import annotations

from typing import ClassVar

from torch import Tensor
from torchjd.aggregation import FairGradWeighting

from manyheads.aggregation.base import GramianAggregator, solve_active
from manyheads.errors import InvalidParameterError

__all__ = ["FairGrad"]


class FairGrad(GramianAggregator):
    r"""FairGrad (Ban & Ji, ICML 2024, "Fair Resource Allocation in Multi-Task Learning").

    Solves their Eq. (4), :math:`G^\top G\, w = w^{-1/\alpha}` (element-wise power, non-negative
    least squares with SciPy, as TorchJD 0.18's ``FairGradWeighting``), and returns
    :math:`\sum_t w_t g_t`. ``alpha = 1`` is proportional fairness (Nash-MTL's condition),
    ``alpha -> inf`` approaches max-min fairness. Tasks with an all-zero gradient are left out.

    Args:
        n_tasks: the number of tasks T.
        alpha: the fairness exponent, > 0.
        max_iters: the solver's evaluation budget (None: SciPy's default).

    Example:
        >>> import torch
        >>> FairGrad(2)(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        tensor([1., 1.])
    """

    supports_rep_grad: ClassVar[bool] = False

    def __init__(self, n_tasks: int, *, alpha: float = 1.0, max_iters: int | None = None) -> None:
        super().__init__(n_tasks)
        if not alpha > 0:
            raise InvalidParameterError(
                f"The 'alpha' parameter of FairGrad must be a float in (0, inf). Got {alpha!r}."
            )
        self.solver = FairGradWeighting(alpha=float(alpha), max_iters=max_iters)

    def weights(self, gramian: Tensor) -> Tensor:
        return solve_active(gramian.double(), self.solver).to(gramian.dtype)
