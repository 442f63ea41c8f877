"""Hard parameter sharing: a shared bottom network and one tower per task (Caruana 1997)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from manyheads._validation import WIDTHS, Constraints
from manyheads.architectures._parts import SharedBottomModel
from manyheads.architectures.base import TOWER_OPTIONS, TaskTowers
from manyheads.encoders.base import InputEncoder

__all__ = ["HPS"]


class HPS(SharedBottomModel):
    """Shared input layer and bottom MLP; each task has its own tower and output layer.

    Args:
        encoder: the input encoder, built from the model options by
            :func:`~manyheads.architectures.create_model`.
        out_dims: task name -> output width.
        hidden: widths of the shared bottom MLP (default ``(128, 64)``; ``()`` on a
            text encoder, see :func:`~manyheads.architectures.base.default_widths`).
        tower, dropout, norm: each task tower's widths, and the dropout and normalisation of
            every MLP (:data:`~manyheads.architectures.base.TOWER_OPTIONS`).

    Example:
        >>> from manyheads.architectures.base import example_input
        >>> enc, batch = example_input()
        >>> m = HPS(enc, {"a": 1, "b": 4}, hidden=[8], tower=[4])
        >>> {k: tuple(v.shape) for k, v in m(batch).items()}
        {'a': (2,), 'b': (2, 4)}
    """

    _parameter_constraints: ClassVar[Constraints] = {"hidden": [WIDTHS, None], **TOWER_OPTIONS}

    def __init__(
        self,
        encoder: InputEncoder,
        out_dims: dict[str, int],
        *,
        hidden: Sequence[int] | None = None,
        tower: Sequence[int] | None = None,
        dropout: float = 0.0,
        norm: str = "none",
    ) -> None:
        super().__init__(out_dims, encoder, hidden, dropout=dropout, norm=norm)
        self.towers = TaskTowers.on(
            encoder, self.bottom.out_dim, out_dims, tower, dropout=dropout, norm=norm
        )
