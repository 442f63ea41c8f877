"""A multi-layer perceptron block with optional normalisation and dropout."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from torch import Tensor, nn

from manyheads._validation import RATE, Constraints, StrOptions, ValidatesParams

__all__ = ["MLP", "NORM", "NORMS"]

NORMS = ("none", "batch", "layer")
#: The ``norm`` option of every MLP-based block.
NORM = StrOptions(NORMS)


class MLP(ValidatesParams, nn.Module):
    """``Linear -> [norm] -> ReLU -> [dropout]`` repeated for each width in ``hidden``.

    Args:
        in_dim: input width.
        hidden: widths of the layers; empty means identity.
        dropout: dropout probability after each activation.
        norm: ``none``, ``batch`` or ``layer``.

    Example:
        >>> import torch
        >>> MLP(4, [8, 2])(torch.zeros(3, 4)).shape
        torch.Size([3, 2])
    """

    _parameter_constraints: ClassVar[Constraints] = {"dropout": [RATE], "norm": [NORM]}

    def __init__(
        self, in_dim: int, hidden: Sequence[int], *, dropout: float = 0.0, norm: str = "none"
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_dim
        for out in hidden:
            layers.append(nn.Linear(width, out))
            if norm == "batch":
                layers.append(nn.BatchNorm1d(out))
            elif norm == "layer":
                layers.append(nn.LayerNorm(out))
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = out
        self.net = nn.Sequential(*layers)
        self.out_dim = width

    def forward(self, x: Tensor) -> Tensor:
        """``[..., in_dim] -> [..., out_dim]``; per-token features ``[B, L, D]`` are flattened
        for the layers so that batch normalisation sees one sample per token."""
        if x.dim() > 2:
            out3: Tensor = self.net(x.reshape(-1, x.shape[-1]))
            return out3.reshape(*x.shape[:-1], out3.shape[-1])
        out: Tensor = self.net(x)
        return out
