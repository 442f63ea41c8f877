"""Bounding boxes: one box per row, four corner columns normalised to [0, 1]; IoU metrics.

A box is ``(x1, y1, x2, y2)``: the top-left and bottom-right corners divided by the image width
(x) and height (y), so 0 is the left/top edge and 1 the right/bottom edge. The head's four raw
outputs are a centre and a size, each squashed by a sigmoid (DETR's parametrisation, Carion et
al., ECCV 2020): ``x1, x2 = cx -/+ w / 2``. The width is at least :data:`MIN_SIZE`, so
``x2 > x1`` always; the centre is inside the image, so clipping the corners to [0, 1] keeps a
non-empty box. The losses see the corners before clipping (a clipped corner would get no
gradient); predictions and metrics use the clipped box.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor

from manyheads.errors import DataError, InvalidParameterError
from manyheads.tasks._base import (
    State,
    TaskExample,
    first_line,
    masked_mean,
    metric_scores,
    missing_mask,
)
from manyheads.tasks._valued import ValuedTaskType
from manyheads.tasks.task import Task

__all__ = ["MIN_SIZE", "Box", "box_iou", "corners", "decode_boxes", "generalized_box_iou"]

COORDS = ("x1", "y1", "x2", "y2")
#: the smallest predicted width/height, so that ``x2 > x1`` holds in float32 for any output
MIN_SIZE = 1e-3
_TOLERANCE = 1e-6
_SMOOTH_L1_BETA = 0.05  # quadratic below 5% of the image side (3 pixels of 64), L1 above


def corners(raw: Tensor) -> Tensor:
    """Unclipped corners ``[N, 4]`` from raw head outputs ``[N, 4]`` (sigmoid centre and size).

    Example:
        >>> corners(torch.zeros(1, 4))  # centre 0.5, size about 0.5
        tensor([[0.2497, 0.2497, 0.7502, 0.7502]])
    """
    centre = torch.sigmoid(raw[:, :2])
    size = MIN_SIZE + (1.0 - MIN_SIZE) * torch.sigmoid(raw[:, 2:])  # > 0 even where it saturates
    return torch.cat([centre - size / 2, centre + size / 2], dim=1)


def decode_boxes(raw: Tensor) -> Tensor:
    """Valid boxes ``[N, 4]`` inside the image from raw head outputs ``[N, 4]``.

    Example:
        >>> decode_boxes(torch.tensor([[0.0, 0.0, 20.0, 20.0]]))  # a full-size box
        tensor([[0., 0., 1., 1.]])
    """
    return corners(raw).clamp(0.0, 1.0)


def _areas(boxes: Tensor) -> Tensor:
    return (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)


def _intersection_union(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    top_left = torch.maximum(a[:, :2], b[:, :2])
    bottom_right = torch.minimum(a[:, 2:], b[:, 2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(dim=1)  # [N]
    return inter, _areas(a) + _areas(b) - inter


def box_iou(a: Tensor, b: Tensor) -> Tensor:
    """Intersection over union of the paired boxes ``a[i]``, ``b[i]`` (``[N, 4]`` each) -> ``[N]``.

    Boxes are ``(x1, y1, x2, y2)`` with ``x2 >= x1`` and ``y2 >= y1``; two empty boxes have IoU 0.

    Example:
        >>> a = torch.tensor([[0.0, 0.0, 2.0, 1.0]])
        >>> box_iou(a, torch.tensor([[1.0, 0.0, 3.0, 1.0]]))  # overlap 1, union 3
        tensor([0.3333])
    """
    inter, union = _intersection_union(a, b)
    return inter / union.clamp(min=torch.finfo(union.dtype).tiny)


def generalized_box_iou(a: Tensor, b: Tensor) -> Tensor:
    """Generalised IoU of paired boxes (Rezatofighi et al., CVPR 2019, Algorithm 1) -> ``[N]``.

    ``GIoU = IoU - |C \\ (A ∪ B)| / |C|`` where ``C`` is the smallest box enclosing both: 1 for
    identical boxes, in (-1, 0] for disjoint ones (closer to -1 the farther apart), and, unlike
    IoU, it has a gradient when the boxes do not overlap.

    Example:
        >>> a = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
        >>> generalized_box_iou(a, torch.tensor([[2.0, 0.0, 3.0, 1.0]]))  # C = 3, union 2
        tensor([-0.3333])
    """
    inter, union = _intersection_union(a, b)
    tiny = torch.finfo(union.dtype).tiny
    iou = inter / union.clamp(min=tiny)
    hull = _areas(
        torch.cat([torch.minimum(a[:, :2], b[:, :2]), torch.maximum(a[:, 2:], b[:, 2:])], 1)
    )
    return iou - (hull - union) / hull.clamp(min=tiny)


class Box(ValuedTaskType):
    """One bounding box per row: four label columns (x1, y1, x2, y2) normalised to [0, 1].

    A row whose four cells are empty is unlabelled. ``loss`` is ``smooth_l1`` (default: the
    smooth L1 distance of the corners, summed over the four, quadratic below 0.05) or ``giou``
    (``1 - GIoU``, Rezatofighi et al., CVPR 2019). ``image_size: [width, height]`` adds pixel
    coordinates to the predictions.
    """

    name = "box"
    summary = "a bounding box (columns x1, y1, x2, y2 in [0, 1]); smooth_l1 or giou; iou, acc50"
    extra_fields: ClassVar[tuple[str, ...]] = ("image_size", "loss")
    multi_column = True
    metric_directions: ClassVar[dict[str, bool]] = {"iou": True, "acc50": True}
    example = TaskExample(
        {
            "x1": (0.1, 0.2, 0.0, 0.5, 0.3, 0.6),
            "y1": (0.1, 0.3, 0.2, 0.4, 0.0, 0.5),
            "x2": (0.5, 0.9, 0.4, 1.0, 0.7, 0.8),
            "y2": (0.6, 0.8, 0.9, 0.7, 0.5, 1.0),
        },
        {"image_size": (64, 48)},
    )

    def check_task(self, task: Task) -> None:
        if task.columns is None or len(task.columns) != 4:
            raise InvalidParameterError(
                f"Box task '{task.name}' needs 'columns': its four label columns x1, y1, x2, y2 "
                f"(corners normalised to [0, 1]), e.g. columns: [x1, y1, x2, y2]. "
                f"Got {task.columns!r} instead."
            )
        if task.scheme is not None or task.crf:
            raise InvalidParameterError(
                f"Task '{task.name}' of type box does not take 'scheme' or 'crf' "
                "(only task types that use them do: see `manyheads ls tasks`)."
            )
        if task.loss not in (None, "smooth_l1", "giou"):
            raise InvalidParameterError(
                f"The 'loss' of box task '{task.name}' must be 'smooth_l1' or 'giou'. "
                f"Got {task.loss!r} instead."
            )
        size = task.image_size
        ok = size is None or (
            len(size) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in size)
        )
        if not ok or (size is not None and min(size) < 1):
            raise InvalidParameterError(
                f"The 'image_size' of box task '{task.name}' must be [width, height] in pixels "
                f"(two ints >= 1), or null. Got {size!r} instead."
            )
        super().check_task(task)

    def _values(self, task: Task, frame: pd.DataFrame, path: str) -> tuple[np.ndarray, np.ndarray]:
        """(boxes [N, 4] float, labelled [N] bool), or a DataError naming the first bad cell."""
        columns = task.label_columns
        values = np.zeros((len(frame), 4))
        missing = np.zeros((len(frame), 4), dtype=bool)
        for j, col in enumerate(columns):
            if col not in frame.columns:
                raise DataError(
                    f"the label column '{col}' of box task '{task.name}' is missing. Columns "
                    f"present: {', '.join(map(str, frame.columns[:30]))}.",
                    path=path,
                )
            series = frame[col]
            missing[:, j] = missing_mask(series)
            numbers = pd.to_numeric(series.where(~missing[:, j]), errors="coerce")
            v = numbers.to_numpy(dtype=float, na_value=np.nan)
            bad = ~missing[:, j] & ~np.isfinite(v)
            if bad.any():
                raise DataError(
                    f"box task '{task.name}' needs numbers, got "
                    f"{series.to_numpy()[np.flatnonzero(bad)[0]]!r}. Fix the cell, or leave all "
                    "four coordinates of the row empty for a missing box.",
                    path=path,
                    line=first_line(frame, bad),
                    column=col,
                )
            values[:, j] = np.where(missing[:, j], 0.0, v)
        labelled = np.asarray(~missing.any(axis=1), dtype=bool)
        self._check_rows(task, frame, path, values, missing, labelled)
        return np.clip(values, 0.0, 1.0) * labelled[:, None], labelled

    def _check_rows(
        self,
        task: Task,
        frame: pd.DataFrame,
        path: str,
        values: np.ndarray,
        missing: np.ndarray,
        labelled: np.ndarray,
    ) -> None:
        columns = task.label_columns
        partial = np.asarray(missing.any(axis=1) & ~missing.all(axis=1), dtype=bool)
        if partial.any():
            row = int(np.flatnonzero(partial)[0])
            empty = [columns[j] for j in range(4) if missing[row, j]]
            raise DataError(
                f"the box of task '{task.name}' is incomplete: {', '.join(empty)} empty. Give "
                "all four coordinates x1, y1, x2, y2, or none for an unlabelled row.",
                path=path,
                line=first_line(frame, partial),
                column=empty[0],
            )
        outside = labelled[:, None] & ((values < -_TOLERANCE) | (values > 1.0 + _TOLERANCE))
        if outside.any():
            row, j = (int(k) for k in np.argwhere(outside)[0])
            side, value = ("width" if j % 2 == 0 else "height"), float(values[row, j])
            raise DataError(
                f"box coordinate {value!r} of task '{task.name}' is outside [0, 1]. "
                f"Boxes are normalised: divide pixel coordinates by the image {side} "
                "(x by the width, y by the height).",
                path=path,
                line=first_line(frame, np.asarray(outside.any(axis=1), dtype=bool)),
                column=columns[j],
            )
        for lo, hi in ((0, 2), (1, 3)):
            flipped = labelled & (values[:, hi] <= values[:, lo])
            if flipped.any():
                row = int(np.flatnonzero(flipped)[0])
                low, high = float(values[row, lo]), float(values[row, hi])
                raise DataError(
                    f"box of task '{task.name}' has {COORDS[hi]} = {high!r} <= {COORDS[lo]} = "
                    f"{low!r}: it is empty or flipped. (x1, y1) is the top-left corner and "
                    "(x2, y2) the bottom-right one; fix the row.",
                    path=path,
                    line=first_line(frame, flipped),
                    column=columns[hi],
                )

    def fit(self, task: Task, frame: pd.DataFrame, path: str) -> State:
        self._training_values(task, frame, path)
        return {"coords": list(COORDS)}

    def out_dim(self, state: State) -> int:
        return 4

    def loss(
        self, task: Task, state: State, output: Tensor, target: Tensor, mask: Tensor
    ) -> Tensor:
        pred = corners(output.float())
        if task.loss == "giou":
            per_row = 1.0 - generalized_box_iou(pred, target)
        else:
            per_row = F.smooth_l1_loss(pred, target, reduction="none", beta=_SMOOTH_L1_BETA)
            per_row = per_row.sum(dim=1)
        return masked_mean(per_row, mask)

    def predict(self, task: Task, state: State, output: Tensor) -> dict[str, np.ndarray]:
        boxes = decode_boxes(output.float()).detach().cpu().numpy()
        out = {f"{task.name}_{c}": boxes[:, j] for j, c in enumerate(COORDS)}
        if task.image_size is not None:
            width, height = task.image_size
            scale = (width, height, width, height)
            out |= {f"{task.name}_{c}_px": boxes[:, j] * scale[j] for j, c in enumerate(COORDS)}
        return out

    def score(
        self, task: Task, state: State, output: Tensor, target: Tensor, mask: Tensor
    ) -> dict[str, float]:
        m = mask.cpu()
        with torch.no_grad():
            iou = box_iou(decode_boxes(output.float().cpu()[m]), target.float().cpu()[m])
        hits = {"iou": iou, "acc50": (iou >= 0.5).float()}  # metric -> per-row values
        return metric_scores(
            self.metric_names(task), int(m.sum()), lambda name: float(hits[name].mean())
        )
