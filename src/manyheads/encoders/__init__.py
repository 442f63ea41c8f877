"""Input layers and encoders shared by the architectures."""

from manyheads.encoders._registry import ENCODERS, build_input, encoder_info, list_encoders
from manyheads.encoders._text import SequenceEncoder
from manyheads.encoders.base import EncoderInfo, InputEncoder
from manyheads.encoders.bilstm import BiLSTM
from manyheads.encoders.cnn import TextCNN
from manyheads.encoders.lenet import LeNet
from manyheads.encoders.mlp import MLP
from manyheads.encoders.pretrained import PretrainedTransformer
from manyheads.encoders.resnet18 import ResNet18
from manyheads.encoders.tabular import TabularInput
from manyheads.encoders.transformer import TextTransformer

__all__ = [
    "ENCODERS",
    "MLP",
    "BiLSTM",
    "EncoderInfo",
    "InputEncoder",
    "LeNet",
    "PretrainedTransformer",
    "ResNet18",
    "SequenceEncoder",
    "TabularInput",
    "TextCNN",
    "TextTransformer",
    "build_input",
    "encoder_info",
    "list_encoders",
]
