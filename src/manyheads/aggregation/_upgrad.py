"""UPGrad: project each task gradient onto the dual cone of all of them (TorchJD)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor

from manyheads._validation import (
    N_TASKS,
    NON_NEGATIVE,
    POSITIVE,
    Constraints,
    SequenceOf,
    StrOptions,
    option_message,
)
from manyheads.aggregation.base import GramianAggregator, solve_active
from manyheads.errors import InvalidParameterError

__all__ = ["UPGrad"]

_SOLVERS = ("quadprog",)


class UPGrad(GramianAggregator):
    r"""Unconflicting projection of gradients (Quinton & Rey, 2024, "Jacobian Descent for
    Multi-Objective Optimization").

    Each row :math:`g_t`, scaled by its preference :math:`p_t`, is projected onto the dual cone
    :math:`\{x : G x \ge 0\}` of the Jacobian (their Eq. 5; Proposition 1 turns it into the
    quadratic program :math:`\min_{v \ge p_t e_t} v^\top G v` on the Gramian), and the
    projections are summed, by TorchJD 0.18's ``UPGradWeighting`` with its quadprog projector.
    That projector first divides the Gramian by its trace (plus ``norm_eps``) and adds
    ``reg_eps`` to its diagonal, so the conditions :math:`J u \ge 0` hold up to that
    regularisation. The default preference is uniform (:math:`1/T`): the mean of the
    projections, the paper's :math:`\mathcal A_{UPGrad}`.

    Args:
        n_tasks: the number of tasks T.
        pref_vector: T positive task preferences (None: all ``1/T``).
        norm_eps: added to the Gramian's trace before dividing by it (TorchJD's default 1e-4).
        reg_eps: added to the diagonal of the normalised Gramian (TorchJD's default 1e-4).
        solver: the QP solver, ``"quadprog"`` (the one TorchJD 0.18 ships).

    Example:
        >>> u = UPGrad(2)(torch.tensor([[-4.0, 1.0, 1.0], [6.0, 1.0, 1.0]]))
        >>> bool(((torch.tensor([[-4.0, 1.0, 1.0], [6.0, 1.0, 1.0]]) @ u) >= 0).all())
        True
    """

    _parameter_constraints: ClassVar[Constraints] = {
        **N_TASKS,
        "pref_vector": [SequenceOf(POSITIVE), None],
        "norm_eps": [NON_NEGATIVE],
        "reg_eps": [NON_NEGATIVE],
        "solver": [StrOptions(_SOLVERS)],
    }

    def __init__(
        self,
        n_tasks: int,
        *,
        pref_vector: Sequence[float] | None = None,
        norm_eps: float = 1e-4,
        reg_eps: float = 1e-4,
        solver: str = "quadprog",
    ) -> None:
        super().__init__(n_tasks)
        pref: Tensor | None = None
        if pref_vector is not None:
            if len(pref_vector) != n_tasks:
                expected = f"a list of {n_tasks} numbers > 0 (one per task)"
                raise InvalidParameterError(
                    option_message("UPGrad", "pref_vector", expected, pref_vector)
                )
            pref = torch.tensor([float(v) for v in pref_vector], dtype=torch.float64)
        self.pref_vector = pref
        # TorchJD loads with the first solver built (``validate`` imports none)
        from torchjd.aggregation import UPGradWeighting
        from torchjd.linalg import QuadprogProjector

        self.solver = UPGradWeighting(
            pref, projector=QuadprogProjector(norm_eps=float(norm_eps), reg_eps=float(reg_eps))
        )

    def weights(self, gramian: Tensor) -> Tensor:
        active = gramian.diagonal() > 0
        if self.pref_vector is None or bool(active.all()):
            pref = self.pref_vector
        else:
            pref = self.pref_vector[active.cpu()]
        self.solver.pref_vector = None if pref is None else pref.to(gramian.device, gramian.dtype)
        return solve_active(gramian, self.solver)
