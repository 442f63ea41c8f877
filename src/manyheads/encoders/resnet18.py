"""A ResNet-18-style CNN in plain PyTorch (He et al., CVPR 2016), for image inputs."""

from __future__ import annotations

from typing import ClassVar

from torch import Tensor, nn

from manyheads._validation import POSITIVE, Boolean, Constraints, Text
from manyheads.data.preprocess import InputSpec
from manyheads.encoders._image import image_input
from manyheads.encoders.base import EncoderInfo, InputEncoder

__all__ = ["BasicBlock", "ResNet18"]


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with an identity (or 1x1 conv-BN) shortcut (He et al. 2016, Fig. 2).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        stride: stride of the first convolution (2 halves the resolution).

    Example:
        >>> import torch
        >>> BasicBlock(8, 16, stride=2)(torch.zeros(1, 8, 8, 8)).shape
        torch.Size([1, 16, 4, 4])
    """

    def __init__(self, in_channels: int, out_channels: int, *, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU()
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: Tensor) -> Tensor:
        h = self.act(self.bn1(self.conv1(x)))
        out: Tensor = self.act(self.bn2(self.conv2(h)) + self.shortcut(x))
        return out


class ResNet18(InputEncoder):
    """ResNet-18 (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016, Table 1).

    Stem, four stages of two :class:`BasicBlock` each (channels ``64, 128, 256, 512`` times
    ``width``; stride 2 at the start of stages 2-4), global average pooling. The ImageNet stem is
    a 7x7 stride-2 convolution and a 3x3 stride-2 max-pool; ``small_input`` replaces it by a 3x3
    stride-1 convolution without pooling, the usual CIFAR / MNIST variant that keeps 28-32 pixel
    inputs from shrinking to 1 x 1 before the last stage. :attr:`out_dim` is the last stage's
    channel count (512 at ``width`` 1).

    Args:
        spec: input sizes from the fitted preprocessor (one image column).
        column: the image column to read when there are several.
        small_input: 3x3 stride-1 stem and no max-pool (for images of about 32 pixels or less).
        width: multiplier of every stage's channel count (0.25 gives 16, 32, 64, 128).

    Raises:
        InvalidParameterError: no usable image column, or ``width`` not a float > 0.

    Example:
        >>> import torch
        >>> spec = InputSpec(0, (), (), (("img", (3, 32, 32)),))
        >>> enc = ResNet18(spec, small_input=True, width=0.25)
        >>> enc({"image:img": torch.zeros(2, 3, 32, 32)}).shape
        torch.Size([2, 128])
    """

    info: ClassVar[EncoderInfo] = EncoderInfo(reads=("image",))
    _params_owner: ClassVar[str | None] = "the 'resnet18' encoder"
    _parameter_constraints: ClassVar[Constraints] = {
        "column": [Text(), None],
        "small_input": [Boolean()],
        "width": [POSITIVE],
    }

    def __init__(
        self,
        spec: InputSpec,
        *,
        column: str | None = None,
        small_input: bool = False,
        width: float = 1.0,
    ) -> None:
        super().__init__()
        self.key, (channels, _, _) = image_input(spec, column, "resnet18")
        stages = [max(1, round(c * width)) for c in (64, 128, 256, 512)]
        self.stem = _stem(channels, stages[0], small=small_input)
        blocks: list[nn.Module] = []
        in_ch = stages[0]
        for i, out_ch in enumerate(stages):
            blocks.append(BasicBlock(in_ch, out_ch, stride=1 if i == 0 else 2))
            blocks.append(BasicBlock(out_ch, out_ch))
            in_ch = out_ch
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.out_dim = stages[-1]

    def forward(self, x: dict[str, Tensor]) -> Tensor:
        h = self.blocks(self.stem(x[self.key]))  # [B, C, H', W']
        out: Tensor = self.pool(h).flatten(1)  # [B, C]
        return out


def _stem(in_channels: int, out_channels: int, *, small: bool) -> nn.Sequential:
    """The input stem: 3x3 stride 1 (small inputs) or 7x7 stride 2 + 3x3 max-pool (ImageNet)."""
    if small:
        conv = nn.Conv2d(in_channels, out_channels, 3, 1, padding=1, bias=False)
        return nn.Sequential(conv, nn.BatchNorm2d(out_channels), nn.ReLU())
    conv = nn.Conv2d(in_channels, out_channels, 7, 2, padding=3, bias=False)
    pool = nn.MaxPool2d(3, stride=2, padding=1)
    return nn.Sequential(conv, nn.BatchNorm2d(out_channels), nn.ReLU(), pool)
