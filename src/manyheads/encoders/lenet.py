"""The small LeNet of the MultiMNIST experiments of Sener & Koltun (NeurIPS 2018)."""

from __future__ import annotations

from typing import ClassVar

from torch import Tensor, nn

from manyheads._validation import RATE, Constraints, Text
from manyheads.data.preprocess import InputSpec
from manyheads.encoders._image import image_input
from manyheads.encoders.base import EncoderInfo, InputEncoder
from manyheads.errors import InvalidParameterError

__all__ = ["LeNet"]


class LeNet(InputEncoder):
    """The shared LeNet trunk of "Multi-Task Learning as Multi-Objective Optimization".

    Sener & Koltun (NeurIPS 2018, §6.1; their ``MultiLeNetR``): for a ``1 x 28 x 28`` input,

        conv 1->10 k5 [10,24,24] -> maxpool 2 -> ReLU [10,12,12]
        -> conv 10->20 k5 [20,8,8] -> channel dropout -> maxpool 2 -> ReLU [20,4,4]
        -> flatten [320] -> linear 320->50 -> ReLU [50]

    so :attr:`out_dim` is 50. Their per-task head (``MultiLeNetO``: linear 50->50, ReLU, dropout,
    linear 50->10) is ``tower: [50]`` (with ``dropout: 0.5`` for the head dropout) on ``hps``
    with ``hidden: []``. Their channel dropout draws one Bernoulli(0.5) mask per channel shared
    by the whole batch and does not rescale; here it is PyTorch's ``Dropout2d`` (one mask per
    sample and channel, rescaled by ``1 / (1 - p)``), which has the same expected activation at
    training and evaluation time. Other input sizes and channel counts work: the flattened width
    follows the input shape.

    Args:
        spec: input sizes from the fitted preprocessor (one image column).
        column: the image column to read when there are several.
        dropout: channel-dropout probability after the second convolution (0.5 in the paper).

    Raises:
        InvalidParameterError: no usable image column, a bad ``dropout``, or an image smaller
            than 16 x 16.

    Example:
        >>> import torch
        >>> enc = LeNet(InputSpec(0, (), (), (("img", (1, 28, 28)),)))
        >>> enc({"image:img": torch.zeros(2, 1, 28, 28)}).shape
        torch.Size([2, 50])
    """

    info: ClassVar[EncoderInfo] = EncoderInfo(reads=("image",))
    _params_owner: ClassVar[str | None] = "the 'lenet' encoder"
    _parameter_constraints: ClassVar[Constraints] = {"column": [Text(), None], "dropout": [RATE]}

    def __init__(self, spec: InputSpec, *, column: str | None = None, dropout: float = 0.5) -> None:
        super().__init__()
        self.key, (channels, height, width) = image_input(spec, column, "lenet")
        h, w = ((height - 4) // 2 - 4) // 2, ((width - 4) // 2 - 4) // 2
        if h < 1 or w < 1:
            raise InvalidParameterError(
                f"The lenet encoder needs images of at least 16 x 16 pixels. Got {height} x "
                f"{width} in '{self.key}'; use the resnet18 encoder with small_input: true."
            )
        self.conv1 = nn.Conv2d(channels, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.drop = nn.Dropout2d(float(dropout))
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(20 * h * w, 50)
        self.act = nn.ReLU()
        self.out_dim = 50

    def forward(self, x: dict[str, Tensor]) -> Tensor:
        h = self.act(self.pool(self.conv1(x[self.key])))  # [B, 10, 12, 12]
        h = self.act(self.pool(self.drop(self.conv2(h))))  # [B, 20, 4, 4]
        out: Tensor = self.act(self.fc(h.flatten(1)))  # [B, 50]
        return out
