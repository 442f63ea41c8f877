"""Input layers and encoders shared by the architectures."""

from manyheads.encoders.mlp import MLP
from manyheads.encoders.tabular import TabularInput

__all__ = ["MLP", "TabularInput"]
