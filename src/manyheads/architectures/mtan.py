"""MTAN: a shared CNN with one soft-attention network per task (Liu, Johns & Davison, CVPR 2019)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import ClassVar

import torch
from torch import Tensor, nn

from manyheads._validation import (
    COUNT,
    RATE,
    WIDTHS,
    Constraints,
    Interval,
    SequenceOf,
    Text,
    option_message,
)
from manyheads.architectures._parts import TowerModel
from manyheads.architectures.base import Features, TaskTowers
from manyheads.data.preprocess import InputSpec
from manyheads.encoders._image import image_input
from manyheads.encoders.mlp import NORM
from manyheads.errors import InvalidParameterError

__all__ = ["MTAN", "AttentionModule", "conv_block"]


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 convolution (padding 1) -> BatchNorm -> ReLU; keeps the resolution.

    Example:
        >>> conv_block(1, 4)(torch.zeros(2, 1, 8, 8)).shape
        torch.Size([2, 4, 8, 8])
    """
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    )


class AttentionModule(nn.Module):
    """The mask of one task at one stage: ``a = h(g(x))`` (Liu et al. 2019, §3.2, Fig. 2).

    ``g`` is 1x1 conv -> BN -> ReLU and ``h`` is 1x1 conv -> BN -> sigmoid, so the mask lies in
    (0, 1) elementwise and has the shape of the shared features it multiplies.

    Args:
        in_channels: channels of the input (the shared features, concatenated with the previous
            attended features after the first stage).
        channels: channels of the mask.

    Example:
        >>> AttentionModule(8, 4)(torch.zeros(2, 8, 5, 5)).shape
        torch.Size([2, 4, 5, 5])
    """

    def __init__(self, in_channels: int, channels: int) -> None:
        super().__init__()
        self.g = nn.Sequential(
            nn.Conv2d(in_channels, channels, 1), nn.BatchNorm2d(channels), nn.ReLU()
        )
        self.h = nn.Sequential(nn.Conv2d(channels, channels, 1), nn.BatchNorm2d(channels))

    def forward(self, x: Tensor) -> Tensor:
        return torch.sigmoid(self.h(self.g(x)))


class MTAN(TowerModel):
    """Multi-Task Attention Network ("End-to-End Multi-Task Learning with Attention", CVPR 2019).

    The shared network has one stage per entry of ``channels``; stage ``j`` is two conv blocks
    (3x3 conv, BN, ReLU), ``u_j`` the output of the first and ``p_j`` of the second, and a 2x2
    max-pool before the next stage. Every task has an attention module per stage (§3.2, eq. 1):

        a_j = h_j(g_j([u_j ; f_{j-1}(â_{j-1})]))     (only u_1 at the first stage)
        â_j = a_j ⊙ p_j

    with ``g``/``h`` the task's 1x1 conv layers (:class:`AttentionModule`) and ``f_j`` a 3x3 conv
    block followed by the same max-pool, which maps ``â_j`` to the next stage's channels and
    resolution. As in the paper, ``f_j`` is shared by the tasks (one per stage); the masks are the
    tasks' own. The last ``â`` is average-pooled to a ``grid x grid`` map, flattened and fed to the
    task's tower and output layer (:class:`TaskTowers`). ``grid: 1`` is the global average pooling
    of the paper's classification setting; it discards where things are, so a ``box`` task needs
    ``grid`` > 1 (4 gives 0.71 test IoU on fashion-mnist-loc where 1 gives 0.38, in a 4-epoch run
    on 2,700 items). This is the paper's SegNet encoder scaled to small images: two conv layers
    per stage and few channels instead of VGG-16.

    :meth:`forward_features` returns one ``[B, channels[-1] * grid²]`` feature per task (a tuple in
    task order). :meth:`shared_parameters` are the shared stages and the ``f_j``;
    :meth:`task_parameters` are the task's attention modules and head. With a gradient
    aggregator in ``rep_grad`` mode the per-task features are what it sees: they are disjoint, so
    the feature Jacobian is block-diagonal and the aggregator can only rescale each task's
    gradient before it reaches the shared network.

    Args:
        spec: input sizes from the fitted preprocessor (one image column).
        out_dims: task name -> output width.
        channels: channels of each stage of the shared network (its depth is the length).
        tower: widths of each task tower.
        dropout: dropout inside the towers.
        norm: ``none``, ``batch`` or ``layer`` inside the towers.
        grid: side of the average-pooling grid before the heads, 1 to 8.
        column: the image column to read when there are several.

    Raises:
        InvalidParameterError: no usable image column, bad ``channels`` or ``grid``, or an image
            too small for that many stages.

    Example:
        >>> spec = InputSpec(0, (), (), (("img", (1, 28, 28)),))
        >>> m = MTAN(spec, {"a": 3, "b": 4}, channels=[4, 8], tower=[])
        >>> {k: tuple(v.shape) for k, v in m({"image:img": torch.zeros(2, 1, 28, 28)}).items()}
        {'a': (2, 3), 'b': (2, 4)}
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "channels": [SequenceOf(COUNT, non_empty=True, example="[16, 32, 64]")],
        "tower": [WIDTHS],
        "dropout": [RATE],
        "norm": [NORM],
        "grid": [Interval(int, 1, 8, closed="both")],
        "column": [Text(), None],
    }

    def __init__(
        self,
        spec: InputSpec,
        out_dims: dict[str, int],
        *,
        channels: Sequence[int] = (16, 32, 64),
        tower: Sequence[int] = (32,),
        dropout: float = 0.0,
        norm: str = "none",
        grid: int = 1,
        column: str | None = None,
    ) -> None:
        super().__init__(out_dims)
        self.key, (in_channels, height, width) = image_input(spec, column, "mtan")
        widths = _check_channels(channels, height, width)
        inputs = [in_channels, *widths[:-1]]
        self.first = nn.ModuleList(conv_block(a, b) for a, b in zip(inputs, widths, strict=True))
        self.second = nn.ModuleList(conv_block(c, c) for c in widths)
        self.bridges = nn.ModuleList(conv_block(a, b) for a, b in pairwise(widths))
        self.pool = nn.MaxPool2d(2)
        self.attention = nn.ModuleDict(
            {
                t: nn.ModuleList(
                    AttentionModule(c if j == 0 else 2 * c, c) for j, c in enumerate(widths)
                )
                for t in out_dims
            }
        )
        self.readout = nn.AdaptiveAvgPool2d(grid)
        self.towers = TaskTowers(
            widths[-1] * grid * grid, out_dims, tower, dropout=dropout, norm=norm
        )

    def forward_attention(
        self, x: dict[str, Tensor], *, tasks: Sequence[str] | None = None
    ) -> tuple[list[Tensor], dict[str, list[Tensor]]]:
        """Per-task features ``[B, C_last * grid²]`` and each task's masks ``a_j``, for
        ``tasks`` (None: every task) in the model's order.

        The masks of a task are one ``[B, C_j, H_j, W_j]`` tensor per stage, in (0, 1). The
        shared stages run once; only the asked tasks' attention modules run. The bridges
        ``f_j`` are shared modules but read each task's attended features: they run once per
        asked task.
        """
        h = x[self.key]  # [B, C, H, W]
        shared: list[tuple[Tensor, Tensor]] = []  # (u_j, p_j) per stage
        for j, (first, second) in enumerate(zip(self.first, self.second, strict=True)):
            u = first(h if j == 0 else self.pool(shared[-1][1]))
            shared.append((u, second(u)))
        features: list[Tensor] = []
        masks: dict[str, list[Tensor]] = {}
        for task in self.asked_tasks(tasks):
            attended: Tensor | None = None
            masks[task] = []
            for j, (u, p) in enumerate(shared):
                if attended is None:
                    mask = self._attention(task)[j](u)
                else:
                    previous = self.pool(self.bridges[j - 1](attended))  # f_{j-1}(â_{j-1})
                    mask = self._attention(task)[j](torch.cat([u, previous], dim=1))
                masks[task].append(mask)
                attended = mask * p  # â_j
            assert attended is not None
            features.append(self.readout(attended).flatten(1))  # [B, C_last * grid²]
        return features, masks

    def _attention(self, task: str) -> nn.ModuleList:
        modules = self.attention[task]
        assert isinstance(modules, nn.ModuleList)
        return modules

    def forward_features(
        self, x: dict[str, Tensor], *, tasks: Sequence[str] | None = None
    ) -> Features:
        return tuple(self.forward_attention(x, tasks=tasks)[0])

    def shared_parameters(self) -> list[nn.Parameter]:
        return [*self.first.parameters(), *self.second.parameters(), *self.bridges.parameters()]

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        return [*self.attention[task].parameters(), *self.towers.task_parameters(task)]


def _check_channels(channels: Sequence[int], height: int, width: int) -> list[int]:
    """The stage widths, if the image survives their halvings (each stage but the last)."""
    widths = list(channels)
    smallest = 2 ** (len(widths) - 1)
    if min(height, width) < smallest:
        most = min(height, width).bit_length()  # 2 ** (most - 1) <= the smaller side
        expected = f"at most {most} entries for {height} x {width} images"
        fix = (
            f"Each stage but the last halves the image: {len(widths)} stages need at least "
            f"{smallest} x {smallest} pixels. Use fewer 'channels' entries."
        )
        raise InvalidParameterError(option_message("MTAN", "channels", expected, channels, fix))
    return widths
