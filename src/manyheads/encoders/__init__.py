"""Input layers and encoders shared by the architectures."""

from manyheads.encoders._registry import ENCODERS, build_input, list_encoders
from manyheads.encoders.base import InputEncoder
from manyheads.encoders.lenet import LeNet
from manyheads.encoders.mlp import MLP
from manyheads.encoders.resnet18 import ResNet18
from manyheads.encoders.tabular import TabularInput

__all__ = [
    "ENCODERS",
    "MLP",
    "InputEncoder",
    "LeNet",
    "ResNet18",
    "TabularInput",
    "build_input",
    "list_encoders",
]
