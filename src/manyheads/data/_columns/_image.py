"""``image`` columns: arrays (``H x W`` or ``C x H x W``, any numeric dtype) or image files.

All cells have one shape; they are standardised per channel with the train mean/std into
``x["image:<col>"]`` ``[N, C, H, W]`` float32. The statistics live in ``model.json`` like every
other state (nothing is pickled). A missing cell or a NaN/±inf pixel is a DataError naming the
row (docs/reliability.md, "Non-finite numbers").
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from manyheads.data._columns._base import ColumnEncoder, ColumnExample
from manyheads.data._spec import InputSpec
from manyheads.data.images import is_image_path, read_image_files
from manyheads.errors import DataError
from manyheads.tasks._base import first_line

__all__ = ["ImageColumn", "is_image_cell"]

ImageState = dict[str, list[float] | list[int]]


class ImageColumn(ColumnEncoder[ImageState]):
    """Standardise one image column; its state is ``{"shape", "mean", "std"}`` per channel.

    Example:
        >>> col = ImageColumn("img", {})
        >>> col.fit(pd.DataFrame({"img": [np.zeros((4, 4)), np.ones((4, 4))]}), "<train>")
        >>> col.spec().image_shapes, col.to_dict()["mean"]
        ((('img', (1, 4, 4)),), [0.5])
    """

    kind: ClassVar[str] = "image"
    section = "image"
    stage = 4
    example = ColumnExample(
        train=tuple(np.arange(18).reshape(2, 3, 3) % (k + 2) for k in range(4)),
        unseen=(np.full((2, 3, 3), 255),),
        refuses_missing=True,
    )

    def check(self, frame: pd.DataFrame, path: str) -> None:
        """Read every cell (a DataError names the first unusable one)."""
        _images(frame, self.column, path, None)

    def fit(self, frame: pd.DataFrame, path: str) -> None:
        """Learn the shape and the per-channel train mean and std (std 0 becomes 1)."""
        images = _images(frame, self.column, path, None)
        mean = images.mean(axis=(0, 2, 3), dtype=np.float64)
        var = np.stack([images[:, c].var(dtype=np.float64) for c in range(images.shape[1])])
        std = np.sqrt(var)
        self.state_ = {
            "shape": [int(v) for v in images.shape[1:]],
            "mean": [float(v) for v in mean],
            "std": [float(v) if v > 0 else 1.0 for v in std],
        }

    def transform(self, frame: pd.DataFrame, path: str) -> dict[str, Tensor]:
        """``{"image:<col>": [N, C, H, W]}`` float32, ``(images - mean) / std`` per channel."""
        st = self.fitted_state("transform")
        images = _images(frame, self.column, path, st["shape"])
        out = torch.from_numpy(np.ascontiguousarray(images)).to(torch.float32)
        mean = torch.tensor(st["mean"], dtype=torch.float32).view(1, -1, 1, 1)
        std = torch.tensor(st["std"], dtype=torch.float32).view(1, -1, 1, 1)
        return {f"image:{self.column}": (out - mean) / std}

    def spec(self) -> InputSpec:
        """``(column, (C, H, W))`` in ``image_shapes``."""
        c, h, w = (int(v) for v in self.fitted_state("spec")["shape"])
        return InputSpec(0, (), (), image_shapes=((self.column, (c, h, w)),))


def is_image_cell(cell: object) -> bool:
    """True for a 2-D/3-D array, or a JSONL image (a list of rows of pixels)."""
    if isinstance(cell, list):  # a JSONL image: rows of pixels (a token list has no inner list)
        return bool(cell) and isinstance(cell[0], list)
    return isinstance(cell, np.ndarray) and cell.ndim in (2, 3)


def _as_array(cell: object) -> np.ndarray:
    """A cell as an array; Parquet list-of-lists cells arrive as object arrays of arrays."""
    arr = np.asarray(cell)
    if arr.dtype == object and arr.ndim > 0 and arr.size:
        arr = np.stack([_as_array(c) for c in arr])
    return arr


def _image_problem(cell: object, shape: tuple[int, ...] | None) -> tuple[str, tuple[int, ...]]:
    """("", shape) for a usable image cell, else (what is wrong, ())."""
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return "a missing value (image cells cannot be empty)", ()
    try:
        arr = _as_array(cell)
    except (ValueError, TypeError):
        return "a ragged array (rows of different lengths)", ()
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        return f"a non-numeric value of type {type(cell).__name__} (dtype {arr.dtype})", ()
    if arr.ndim not in (2, 3):
        return f"an array of shape {arr.shape}; expected H x W or C x H x W", ()
    got = arr.shape if arr.ndim == 3 else (1, *arr.shape)
    if shape is not None and got != shape:
        return f"an image of shape {got} (C, H, W); expected {shape} like the others", ()
    return "", got


def _images(
    frame: pd.DataFrame, col: str, path: str, shape: list[int] | list[float] | None
) -> np.ndarray:
    """The image column as ``[N, C, H, W]`` (any numeric dtype), or a DataError naming the row.

    Cells are arrays, or paths of PNG/JPEG files relative to the table's folder.
    """
    if len(frame) and is_image_path(frame[col].iloc[0]):
        frame = frame.assign(**{col: read_image_files(frame, col, table=path)})
    cells = frame[col].tolist()
    want = None if shape is None else tuple(int(v) for v in shape)
    try:  # fast path: one stack of equally shaped numeric arrays
        stacked = np.stack(cells)
        if stacked.ndim == 3:
            stacked = stacked[:, None]
        numeric = stacked.ndim == 4 and np.issubdtype(stacked.dtype, np.number)
        if numeric and (want is None or stacked.shape[1:] == want):
            return _finite_pixels(frame, col, path, stacked)
    except (ValueError, TypeError):
        pass
    for position, cell in enumerate(cells):  # slow path: find the first bad row and say why
        problem, got = _image_problem(cell, want)
        if problem:
            raise DataError(
                f"image input expected (a numeric array, H x W or C x H x W, one shape for "
                f"every row); got {problem}. Fix or drop the row.",
                path=path,
                line=first_line(frame, np.arange(len(cells)) == position),
                column=col,
            )
        want = want or got
    return _finite_pixels(
        frame, col, path, np.stack([_as_array(c).reshape(want or ()) for c in cells])
    )


def _finite_pixels(frame: pd.DataFrame, col: str, path: str, images: np.ndarray) -> np.ndarray:
    """``images`` [N, C, H, W], or a DataError naming the first row with a NaN or ±inf pixel
    (an image has no missing pixels: docs/reliability.md, "Non-finite numbers")."""
    if not np.issubdtype(images.dtype, np.floating) or np.isfinite(images).all():
        return images
    bad = ~np.isfinite(images.reshape(len(images), -1)).all(axis=1)
    raise DataError(
        "image pixels must be finite numbers; this image holds NaN or ±inf. Fix or drop the row.",
        path=path,
        line=first_line(frame, bad),
        column=col,
    )
