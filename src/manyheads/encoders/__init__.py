"""Input layers and encoders shared by the architectures."""

from manyheads.encoders._registry import ENCODERS, build_input, list_encoders
from manyheads.encoders.base import InputEncoder
from manyheads.encoders.mlp import MLP
from manyheads.encoders.tabular import TabularInput

__all__ = ["ENCODERS", "MLP", "InputEncoder", "TabularInput", "build_input", "list_encoders"]
