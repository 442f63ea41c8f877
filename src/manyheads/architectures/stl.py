"""Single-task learning: one independent network per task, the baseline of every comparison."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from torch import Tensor, nn

from manyheads._validation import WIDTHS, Constraints
from manyheads.architectures._parts import TowerModel
from manyheads.architectures.base import (
    TABLE_HIDDEN,
    TOWER_OPTIONS,
    Features,
    TaskTowers,
    default_widths,
)
from manyheads.encoders.base import InputEncoder
from manyheads.encoders.mlp import MLP

__all__ = ["STL"]


class STL(TowerModel):
    """Each task gets its own input layer, bottom MLP and tower: nothing is shared.

    Training all of them in one model is equivalent to training them separately (the summed loss
    has block-diagonal gradients), but faster. Sizes match :class:`~manyheads.architectures.HPS`.

    Args:
        make_encoder: builds a fresh input encoder (one per task), made from the model
            options by :func:`~manyheads.architectures.create_model`.
        out_dims: task name -> output width.
        hidden: widths of each task's bottom MLP (default ``(128, 64)``; ``()`` on a
            text encoder, see :func:`~manyheads.architectures.base.default_widths`).
        tower, dropout, norm: each task tower's widths, and the dropout and normalisation of
            every MLP (:data:`~manyheads.architectures.base.TOWER_OPTIONS`).

    Example:
        >>> from functools import partial
        >>> import torch
        >>> from manyheads.data.preprocess import InputSpec
        >>> from manyheads.encoders import TabularInput
        >>> m = STL(partial(TabularInput, InputSpec(3, (), ())), {"a": 1, "b": 4}, hidden=[8])
        >>> {k: tuple(v.shape) for k, v in m({"num": torch.zeros(2, 3)}).items()}
        {'a': (2,), 'b': (2, 4)}
    """

    _parameter_constraints: ClassVar[Constraints] = {"hidden": [WIDTHS, None], **TOWER_OPTIONS}

    def __init__(
        self,
        make_encoder: Callable[[], InputEncoder],
        out_dims: dict[str, int],
        *,
        hidden: Sequence[int] | None = None,
        tower: Sequence[int] | None = None,
        dropout: float = 0.0,
        norm: str = "none",
    ) -> None:
        super().__init__(out_dims)
        inputs = {t: make_encoder() for t in out_dims}
        first = next(iter(inputs.values()))
        widths = default_widths(hidden, first, TABLE_HIDDEN)
        bottoms = {t: MLP(inputs[t].out_dim, widths, dropout=dropout, norm=norm) for t in out_dims}
        self.inputs = nn.ModuleDict(inputs)
        self.bottoms = nn.ModuleDict(bottoms)
        width = next(iter(bottoms.values())).out_dim
        self.towers = TaskTowers.on(first, width, out_dims, tower, dropout=dropout, norm=norm)

    def forward_features(
        self, x: dict[str, Tensor], *, tasks: Sequence[str] | None = None
    ) -> Features:
        """One bottom output per task of ``tasks`` (None: every task), in the model's order;
        the other tasks' networks (encoders included) do not run."""
        return tuple(self.bottoms[t](self.inputs[t](x)) for t in self.asked_tasks(tasks))

    def shared_parameters(self) -> list[nn.Parameter]:
        return []

    def task_state_keys(self, task: str) -> list[str] | None:
        prefixes = (
            f"inputs.{task}.",
            f"bottoms.{task}.",
            f"towers.towers.{task}.",
            f"towers.outputs.{task}.",
        )
        own = (f"towers.transitions.{task}", f"towers.wide.weight.{task}")  # CRF, wide path
        return [k for k in self.state_dict() if k.startswith(prefixes) or k in own]

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        return [
            *self.inputs[task].parameters(),
            *self.bottoms[task].parameters(),
            *self.towers.task_parameters(task),
        ]
