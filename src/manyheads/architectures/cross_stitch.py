"""Cross-stitch networks (Misra et al., CVPR 2016): task columns mixed by learnable units."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import ClassVar

import torch
from torch import Tensor, nn

from manyheads._validation import WIDTHS, Constraints
from manyheads.architectures._parts import EncoderModel
from manyheads.architectures.base import TOWER_OPTIONS, Features, TaskTowers
from manyheads.encoders.base import InputEncoder
from manyheads.encoders.mlp import MLP

__all__ = ["CrossStitch", "cross_stitch_init"]


def cross_stitch_init(n_tasks: int, self_weight: float = 0.9) -> Tensor:
    """The initial α: ``self_weight`` on the diagonal, the rest spread evenly off it.

    Example:
        >>> cross_stitch_init(3)
        tensor([[0.9000, 0.0500, 0.0500],
                [0.0500, 0.9000, 0.0500],
                [0.0500, 0.0500, 0.9000]])
        >>> cross_stitch_init(1)
        tensor([[1.]])
    """
    if n_tasks == 1:
        return torch.ones(1, 1)
    off = (1.0 - self_weight) / (n_tasks - 1)
    eye = torch.eye(n_tasks)
    return eye * self_weight + (1.0 - eye) * off


class CrossStitch(EncoderModel):
    """A shared input layer, one MLP column per task, and a cross-stitch unit after each layer.

    After hidden layer ``l`` the unit replaces each task's activation by a learned linear
    combination of all tasks' activations, ``h_t <- sum_s α_l[t, s] h_s`` (Misra et al., CVPR
    2016, eq. 1), with α initialised to 0.9 on the diagonal and 0.1 / (T - 1) off it. With α the
    identity the columns are independent networks. A column feeds every task through α, so
    :meth:`task_parameters` lists the parameters each task *owns*.

    :meth:`forward_features` returns the input embedding; columns and units run in
    :meth:`forward_heads`.

    Args:
        encoder: the input encoder, built from the model options by
            :func:`~manyheads.architectures.create_model`.
        out_dims: task name -> output width.
        hidden: widths of each task column.
        tower, dropout, norm: each task tower's widths, and the dropout and normalisation of
            every MLP (:data:`~manyheads.architectures.base.TOWER_OPTIONS`).

    Example:
        >>> from manyheads.architectures.base import example_input
        >>> enc, batch = example_input()
        >>> m = CrossStitch(enc, {"a": 1, "b": 4}, hidden=[8, 8], tower=[4])
        >>> {k: tuple(v.shape) for k, v in m(batch).items()}
        {'a': (2,), 'b': (2, 4)}
    """

    _parameter_constraints: ClassVar[Constraints] = {"hidden": [WIDTHS], **TOWER_OPTIONS}

    def __init__(
        self,
        encoder: InputEncoder,
        out_dims: dict[str, int],
        *,
        hidden: Sequence[int] = (128, 64),
        tower: Sequence[int] | None = None,
        dropout: float = 0.0,
        norm: str = "none",
    ) -> None:
        super().__init__(out_dims, encoder)
        widths = [self.input.out_dim, *hidden]
        self.columns = nn.ModuleDict(
            {
                t: nn.ModuleList(
                    MLP(a, [b], dropout=dropout, norm=norm) for a, b in pairwise(widths)
                )
                for t in out_dims
            }
        )
        self.alphas = nn.ParameterList(
            nn.Parameter(cross_stitch_init(len(out_dims))) for _ in hidden
        )
        self.towers = TaskTowers.on(
            encoder, widths[-1], out_dims, tower, dropout=dropout, norm=norm
        )

    def forward_heads(
        self, features: Features, *, tasks: Sequence[str] | None = None
    ) -> dict[str, Tensor]:
        """The outputs of ``tasks`` (None: all). The cross-stitch units couple the columns:
        every unit reads every column, so every task's column runs (once) whatever is asked;
        only the asked tasks' towers run."""
        assert isinstance(features, Tensor)
        h = [features] * len(self.task_names)
        for layer, alpha in enumerate(self.alphas):
            columns = [self._column(t)[layer] for t in self.task_names]
            stacked = torch.stack([col(x) for col, x in zip(columns, h, strict=True)])  # [T, B, D]
            # [T, B, L, D] for per-token features
            equation = "ts,sbd->tbd" if stacked.dim() == 3 else "ts,sbld->tbld"
            h = list(torch.einsum(equation, alpha, stacked).unbind(0))
        asked = self.asked_tasks(tasks)
        column = dict(zip(self.task_names, h, strict=True))
        return self.towers.forward_all([column[t] for t in asked], tasks=asked)

    def _column(self, task: str) -> nn.ModuleList:
        column = self.columns[task]
        assert isinstance(column, nn.ModuleList)
        return column

    def shared_parameters(self) -> list[nn.Parameter]:
        return [*self.input.parameters(), *self.alphas]

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        return [*self.columns[task].parameters(), *self.towers.task_parameters(task)]
