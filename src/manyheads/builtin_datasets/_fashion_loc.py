"""Fashion-MNIST localisation: classify one clothing item on a cluttered canvas and box it.

Construction (seeded, deterministic; no torchvision): each Fashion-MNIST item of a split (the raw
IDX files in ``$MANYHEADS_DATA/fashion-mnist``) is resized from 28 x 28 to ``s x s`` with ``s``
drawn uniformly from 16-48 pixels (the aspect is kept; ``torch.nn.functional.interpolate``,
bilinear, ``antialias=True``, rounded to uint8) and pasted at a uniformly drawn position of a
black 64 x 64 canvas, entirely inside it. Its box is the tight box of the pasted item's non-zero
pixels, in pixel edges (a pixel ``j`` spans ``[j, j + 1)``) divided by 64. Then ``n_clutter``
patches (3 by default) are laid over the canvas with a pixel-wise maximum: each an ``p x p``
crop (``p`` drawn from 8-14) at a random place of another random item of the same split, put at
a random position; a patch that would cover the item's whole box is drawn again, so clutter may
hide part of the item but never all of it.

Tasks: ``label`` (multiclass, the ten Fashion-MNIST class names) and ``box`` (the item's box,
columns ``x1, y1, x2, y2`` in [0, 1], ``image_size`` 64 x 64); input ``image`` (64 x 64 uint8).
``n_train`` / ``n_test`` pick seeded subsets of the 60,000 / 10,000 source items before the
construction; the last 10% of a seeded permutation of train is the validation split, as for
MultiMNIST. A row's index is the 1-based position of its item in the IDX file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from manyheads.builtin_datasets._registry import DatasetSplits, data_root, hold_out_valid
from manyheads.data.images import read_idx
from manyheads.errors import InvalidParameterError
from manyheads.tasks.task import Task

__all__ = ["CANVAS", "CLASSES", "load_fashion_loc", "place_items"]

CANVAS = 64
CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
_SCALES = (16, 48)  # side of the pasted item, pixels (inclusive)
_PATCHES = (8, 14)  # side of a clutter patch, pixels (inclusive)
_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def _resized(images: np.ndarray, sizes: np.ndarray) -> list[np.ndarray]:
    """``images[i]`` resized to ``sizes[i]`` squared, uint8; one interpolate call per size."""
    out: list[np.ndarray] = [np.empty(0, dtype=np.uint8)] * len(images)
    for size in np.unique(sizes):
        rows = np.flatnonzero(sizes == size)
        batch = torch.from_numpy(images[rows]).unsqueeze(1).float()  # [n, 1, 28, 28]
        small = F.interpolate(
            batch, size=(int(size), int(size)), mode="bilinear", align_corners=False, antialias=True
        )
        pixels = small.squeeze(1).round().clamp(0, 255).to(torch.uint8).numpy()
        for k, row in enumerate(rows):
            out[row] = pixels[k]
    return out


def _tight_box(item: np.ndarray, x: int, y: int) -> tuple[int, int, int, int]:
    """Pixel edges ``(x1, y1, x2, y2)`` of the non-zero pixels of ``item`` pasted at (x, y)."""
    rows, cols = np.flatnonzero(item.any(axis=1)), np.flatnonzero(item.any(axis=0))
    if len(rows) == 0:  # a blank item: its whole square
        return x, y, x + item.shape[1], y + item.shape[0]
    return x + int(cols[0]), y + int(rows[0]), x + int(cols[-1]) + 1, y + int(rows[-1]) + 1


def _clutter_positions(
    rng: np.random.Generator, boxes: np.ndarray, sides: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Top-left corners ``[N, K]`` of the patches; redrawn where one covers a whole box."""
    high = CANVAS - sides + 1
    px, py = rng.integers(0, high), rng.integers(0, high)
    while True:
        x1, y1, x2, y2 = (boxes[:, k, None] for k in range(4))  # [N, 1] each
        covers = (px <= x1) & (py <= y1) & (px + sides >= x2) & (py + sides >= y2)
        if not covers.any():
            return px, py
        px[covers], py[covers] = rng.integers(0, high[covers]), rng.integers(0, high[covers])


def place_items(
    images: np.ndarray, *, seed: int, n_clutter: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """Paste every item at a random scale and place on a 64 x 64 canvas, then add clutter.

    Args:
        images: ``[N, 28, 28]`` uint8 items of one split (clutter is cropped from them too).
        seed: seeds every draw.
        n_clutter: clutter patches per canvas.

    Returns:
        ``(canvases [N, 64, 64] uint8, boxes [N, 4] int)``: the boxes in pixel edges
        ``(x1, y1, x2, y2)`` of each item's non-zero pixels.

    Example:
        >>> items = np.zeros((2, 28, 28), dtype=np.uint8); items[:, 10:20, 12:16] = 200
        >>> canvases, boxes = place_items(items, seed=0, n_clutter=0)
        >>> canvases.shape, bool((boxes[:, 2:] > boxes[:, :2]).all())
        ((2, 64, 64), True)
    """
    n = len(images)
    rng = np.random.default_rng(seed)
    sizes = rng.integers(_SCALES[0], _SCALES[1] + 1, size=n)
    xs, ys = rng.integers(0, CANVAS - sizes + 1), rng.integers(0, CANVAS - sizes + 1)
    canvases = np.zeros((n, CANVAS, CANVAS), dtype=np.uint8)
    boxes = np.zeros((n, 4), dtype=np.int64)
    for i, item in enumerate(_resized(images, sizes)):
        x, y, s = int(xs[i]), int(ys[i]), int(sizes[i])
        canvases[i, y : y + s, x : x + s] = item
        boxes[i] = _tight_box(item, x, y)
    if n_clutter == 0:
        return canvases, boxes
    # another item for every patch: an offset in 1..n-1 never picks the canvas's own item
    donors = (np.arange(n)[:, None] + rng.integers(1, max(n, 2), size=(n, n_clutter))) % n
    sides = rng.integers(_PATCHES[0], _PATCHES[1] + 1, size=(n, n_clutter))
    cx, cy = rng.integers(0, 28 - sides + 1), rng.integers(0, 28 - sides + 1)
    px, py = _clutter_positions(rng, boxes, sides)
    for i in range(n):
        for k in range(n_clutter):
            p = int(sides[i, k])
            crop = images[donors[i, k], cy[i, k] : cy[i, k] + p, cx[i, k] : cx[i, k] + p]
            region = canvases[i, py[i, k] : py[i, k] + p, px[i, k] : px[i, k] + p]
            np.maximum(region, crop, out=region)
    return canvases, boxes


def _pick(total: int, n: int | None, name: str, seed: int) -> np.ndarray:
    """Sorted indices of a seeded subset of ``n`` of ``total`` items (all when ``n`` is None)."""
    if n is None:
        return np.arange(total)
    if isinstance(n, bool) or not isinstance(n, int) or not 10 <= n <= total:
        raise InvalidParameterError(
            f"The '{name}' option of fashion-mnist-loc must be an int in [10, {total}] or null. "
            f"Got {n!r} instead."
        )
    return np.sort(np.random.default_rng(seed).choice(total, size=n, replace=False))


def _frame(
    canvases: np.ndarray, labels: np.ndarray, boxes: np.ndarray, rows: np.ndarray, where: str
) -> pd.DataFrame:
    corners = boxes / CANVAS
    frame = pd.DataFrame(
        {
            "image": pd.Series(list(canvases), dtype=object),
            "label": np.asarray(CLASSES, dtype=object)[labels],
            **{c: corners[:, j] for j, c in enumerate(("x1", "y1", "x2", "y2"))},
        }
    )
    frame.index = pd.Index(rows + 1)  # the 1-based position of each item in the IDX file
    frame.attrs["path"] = where
    frame.attrs["row_word"] = "row"
    return frame


def _check_options(seed: object, n_clutter: object) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidParameterError(
            f"The 'seed' option of fashion-mnist-loc must be an int. Got {seed!r} instead."
        )
    if isinstance(n_clutter, bool) or not isinstance(n_clutter, int) or not 0 <= n_clutter <= 8:
        raise InvalidParameterError(
            f"The 'n_clutter' option of fashion-mnist-loc must be an int in [0, 8]. "
            f"Got {n_clutter!r} instead."
        )


def load_fashion_loc(
    *,
    seed: int = 0,
    n_train: int | None = None,
    n_test: int | None = None,
    n_clutter: int = 3,
) -> DatasetSplits:
    """Fashion-MNIST localisation from ``$MANYHEADS_DATA/fashion-mnist`` (see the module doc).

    Args:
        seed: seeds the subsets, scales, positions, clutter and the validation split.
        n_train: use this many of the 60,000 train items (10% of them become the validation
            split); None uses all.
        n_test: use this many of the 10,000 test items; None uses all.
        n_clutter: clutter patches per canvas, 0-8.

    Returns:
        Splits with an ``image`` column (64 x 64 uint8), tasks ``label`` (multiclass) and
        ``box`` (box: columns x1, y1, x2, y2, image_size 64 x 64).

    Raises:
        DataError: ``$MANYHEADS_DATA`` or the IDX files are missing.
        InvalidParameterError: a bad option.

    Example:
        >>> data = load_fashion_loc(n_train=100, n_test=20)  # doctest: +SKIP
        >>> data.train["image"].iloc[0].shape, [t.name for t in data.tasks]  # doctest: +SKIP
        ((64, 64), ['label', 'box'])
    """
    _check_options(seed, n_clutter)
    root = data_root("fashion-mnist")
    frames = {}
    for k, (split, (images_file, labels_file)) in enumerate(_FILES.items()):
        images, labels = read_idx(root / images_file), read_idx(root / labels_file)
        wanted = n_train if split == "train" else n_test
        rows = _pick(len(images), wanted, f"n_{split}", seed * 10 + 2 + k)
        canvases, boxes = place_items(images[rows], seed=seed * 10 + k, n_clutter=n_clutter)
        where = f"{root / images_file}:fashion-mnist-loc"
        frames[split] = _frame(canvases, labels[rows], boxes, rows, where)
    test = frames["test"]
    train, valid = hold_out_valid(frames["train"], seed * 10 + 4)
    for part in (train, valid):
        part.attrs.update(frames["train"].attrs)
    return DatasetSplits(
        name="fashion-mnist-loc",
        train=train,
        valid=valid,
        test=test,
        tasks=(
            Task("label", type="multiclass"),
            Task("box", type="box", columns=("x1", "y1", "x2", "y2"), image_size=(CANVAS, CANVAS)),
        ),
        inputs={"image": "image"},
        description=f"fashion-mnist-loc (64 x 64, {n_clutter} clutter patches, seed {seed})",
    )
