"""Soft parameter sharing (Duong et al., ACL 2015): separate networks pulled together by a norm."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import combinations
from typing import ClassVar

from torch import Tensor

from manyheads._validation import NON_NEGATIVE, Constraints, StrOptions
from manyheads.architectures.stl import STL
from manyheads.encoders.base import InputEncoder

__all__ = ["PENALTIES", "SoftSharing", "pairwise_distance"]

PENALTIES = ("l2", "l1")


def pairwise_distance(params: Sequence[Sequence[Tensor]], penalty: str = "l2") -> Tensor:
    """``sum_layers sum_{t<s} ||W_t - W_s||`` for ``params[t]``, the parameter list of task ``t``.

    ``l2`` sums squared differences, ``l1`` absolute differences. The pairs are taken one at a
    time, so memory stays at one parameter's size however many tasks there are.

    Example:
        >>> import torch
        >>> a, b = [torch.tensor([1.0, 2.0])], [torch.tensor([0.0, 4.0])]
        >>> pairwise_distance([a, b]), pairwise_distance([a, b], "l1")
        (tensor(5.), tensor(3.))
    """
    total = params[0][0].new_zeros(())
    for mine, theirs in combinations(params, 2):
        for w_t, w_s in zip(mine, theirs, strict=True):
            diff = w_t - w_s
            total = total + (diff.abs().sum() if penalty == "l1" else diff.pow(2).sum())
    return total


class SoftSharing(STL):
    """Each task has its own input layer, bottom MLP and tower; a penalty ties the bottoms.

    The penalty is ``penalty_weight * sum_l sum_{t<s} ||W_t^l - W_s^l||^2`` over corresponding
    input-layer and bottom-MLP weights and biases of tasks ``t`` and ``s`` (the coupling term of
    the joint objective of Duong et al., ACL 2015, and the "L2-constrained" baseline of Ma et al.,
    KDD 2018), or the sum of absolute differences with ``penalty="l1"``. Nothing is shared:
    :meth:`shared_parameters` is empty and :meth:`forward_features` returns the tuple of per-task
    bottom outputs. It is :class:`~manyheads.architectures.STL` plus the penalty (the same
    modules and sizes), except that its tasks' best epochs are chosen together.

    Args:
        make_encoder: builds a fresh input encoder (one per task), made from the model
            options by :func:`~manyheads.architectures.create_model`.
        out_dims: task name -> output width.
        hidden: widths of each task's bottom MLP.
        tower, dropout, norm: each task tower's widths, and the dropout and normalisation of
            every MLP (:data:`~manyheads.architectures.base.TOWER_OPTIONS`).
        penalty: ``l2`` (squared Euclidean) or ``l1`` (absolute) distance.
        penalty_weight: the factor of the penalty, >= 0.

    Raises:
        InvalidParameterError: an unknown ``penalty`` or a negative ``penalty_weight``.

    Example:
        >>> from functools import partial
        >>> import torch
        >>> from manyheads.data.preprocess import InputSpec
        >>> from manyheads.encoders import TabularInput
        >>> make_encoder = partial(TabularInput, InputSpec(3, (), ()))
        >>> m = SoftSharing(make_encoder, {"a": 1, "b": 4}, hidden=[8], tower=[4])
        >>> {k: tuple(v.shape) for k, v in m({"num": torch.zeros(2, 3)}).items()}
        {'a': (2,), 'b': (2, 4)}
        >>> m.penalty().item() > 0
        True
    """

    _parameter_constraints: ClassVar[Constraints] = {
        **STL._parameter_constraints,
        "penalty": [StrOptions(PENALTIES)],
        "penalty_weight": [NON_NEGATIVE],
    }

    def __init__(
        self,
        make_encoder: Callable[[], InputEncoder],
        out_dims: dict[str, int],
        *,
        hidden: Sequence[int] = (128, 64),
        tower: Sequence[int] | None = None,
        dropout: float = 0.0,
        norm: str = "none",
        penalty: str = "l2",
        penalty_weight: float = 1e-3,
    ) -> None:
        super().__init__(
            make_encoder,
            out_dims,
            hidden=hidden,
            tower=tower,
            dropout=dropout,
            norm=norm,
        )
        self.penalty_kind = penalty
        self.penalty_weight = float(penalty_weight)

    def penalty(self) -> Tensor:
        """``penalty_weight`` times the summed pairwise distance of the tied parameters."""
        params = [self._tied_parameters(t) for t in self.task_names]
        return self.penalty_weight * pairwise_distance(params, self.penalty_kind)

    def _tied_parameters(self, task: str) -> list[Tensor]:
        return [*self.inputs[task].parameters(), *self.bottoms[task].parameters()]

    def task_state_keys(self, task: str) -> list[str] | None:
        """None: the penalty couples the tasks, so their weights are selected together."""
        del task
        return None
