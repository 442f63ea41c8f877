"""The input-encoder contract: a module with ``out_dim`` mapping ``x`` to ``[B, out_dim]``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from torch import Tensor, nn

__all__ = ["InputEncoder"]


class InputEncoder(nn.Module, ABC):
    """Base class of input encoders (tabular input layer, image CNNs, sequence encoders).

    Subclasses set :attr:`out_dim` and implement ``forward(x: dict[str, Tensor]) -> Tensor``
    returning ``[B, out_dim]``, reading the keys of ``x`` they need (``num``, ``cat``,
    ``text:<column>``, ``image:<column>`` ...).
    """

    out_dim: int

    @abstractmethod
    def forward(self, x: dict[str, Tensor]) -> Tensor:
        """Features ``[B, out_dim]`` of a batch of encoded inputs."""

    def bundle_options(self) -> dict[str, Any]:
        """Encoder options a saved model adds to its own so that loading it reads no outside
        file (a pretrained encoder's architecture config; its weights are in the bundle)."""
        return {}
