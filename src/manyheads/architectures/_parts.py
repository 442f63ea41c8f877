"""What several architectures are made of: one input encoder read by every task, and a bottom MLP
on it (the layouts of ``hps``, ``cascade``, ``mmoe``, ``ple`` and ``cross_stitch``), and one tower
per task on the features (``hps``, ``stl``, ``mtan``).

Both keep the attribute names the architectures always had (``input``, ``bottom``), so state
dicts and checkpoints are unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from manyheads.architectures.base import (
    TABLE_HIDDEN,
    Features,
    MTLModel,
    TaskTowers,
    default_widths,
)
from manyheads.encoders.base import InputEncoder
from manyheads.encoders.mlp import MLP

__all__ = ["EncoderModel", "SharedBottomModel", "TowerModel"]


class TowerModel(MTLModel):
    """An architecture whose tasks each end in their own tower of :attr:`towers` (built by the
    subclass), fed the features as they are: one tensor every task reads, or one per task asked.
    """

    towers: TaskTowers

    def forward_heads(
        self, features: Features, *, tasks: Sequence[str] | None = None
    ) -> dict[str, Tensor]:
        """The towers of ``tasks`` (None: every task) on ``features``
        (:meth:`~manyheads.architectures.base.TaskTowers.forward_all`)."""
        return self.towers.forward_all(features, tasks=self.asked_tasks(tasks))


class EncoderModel(MTLModel):
    """An architecture whose tasks all read one input encoder, :attr:`input`.

    :meth:`forward_features` is the encoder's output (the input embedding, ``[B, D]``) unless a
    subclass overrides it, and the encoder's parameters are shared.

    Args:
        out_dims: task name -> output width.
        encoder: the input encoder.
    """

    def __init__(self, out_dims: dict[str, int], encoder: InputEncoder) -> None:
        super().__init__(out_dims)
        self.input = encoder

    def forward_features(
        self, x: dict[str, Tensor], *, tasks: Sequence[str] | None = None
    ) -> Features:
        del tasks  # every task reads the embedding
        embedding: Tensor = self.input(x)  # [B, D]
        return embedding


class SharedBottomModel(EncoderModel, TowerModel):
    """An input encoder and a bottom MLP on it shared by every task, then one tower per task.

    :meth:`forward_features` is the bottom's output; the encoder and the bottom are shared, the
    towers (:attr:`towers`, built by the subclass) are each task's own.

    Args:
        out_dims: task name -> output width.
        encoder: the input encoder.
        hidden: widths of the bottom MLP (None: :func:`default_widths` with ``TABLE_HIDDEN``).
        dropout: dropout probability.
        norm: ``none``, ``batch`` or ``layer``.
    """

    def __init__(
        self,
        out_dims: dict[str, int],
        encoder: InputEncoder,
        hidden: Sequence[int] | None,
        *,
        dropout: float,
        norm: str,
    ) -> None:
        super().__init__(out_dims, encoder)
        widths = default_widths(hidden, encoder, TABLE_HIDDEN)
        self.bottom = MLP(self.input.out_dim, widths, dropout=dropout, norm=norm)

    def forward_features(
        self, x: dict[str, Tensor], *, tasks: Sequence[str] | None = None
    ) -> Features:
        del tasks  # every task reads the bottom
        out: Tensor = self.bottom(self.input(x))
        return out

    def shared_parameters(self) -> list[nn.Parameter]:
        return [*self.input.parameters(), *self.bottom.parameters()]

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        return self.towers.task_parameters(task)
