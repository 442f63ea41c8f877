"""MultiMNIST and MultiFashion, built as in Sener & Koltun (NeurIPS 2018, §6.1).

For every image ``i`` of a split, a partner ``j`` is drawn uniformly from the same split (with
replacement; ``j = i`` and equal digits are allowed, as in their code). On a 36 x 36 canvas the
left item sits at ``[0:28, 0:28]`` and the right one at ``[6:34, 6:34]``; where they overlap the
canvas keeps the pixel-wise maximum. The canvas is resized to 28 x 28 and the tasks are the
classes of the left and right items. 60,000 train / 10,000 test images come from the raw IDX
files in ``$MANYHEADS_DATA/mnist`` and ``$MANYHEADS_DATA/fashion-mnist`` (read with numpy; no
torchvision); the last 10% of a seeded permutation of train is the validation split (Sener &
Koltun select models on test; we never do).

Resizing: ``torch.nn.functional.interpolate`` in ``bilinear`` mode with ``antialias=True`` (a
triangle filter widened to the 36/28 downscale, like PIL's bilinear resize) by default. Their
code used ``scipy.misc.imresize(interp="nearest")``; ``interpolation: nearest`` reproduces that
with ``nearest-exact`` (pixel-centre sampling, as PIL's nearest). Pixels are rounded to uint8.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from manyheads._registry import did_you_mean
from manyheads.builtin_datasets._registry import DatasetSplits, data_root, hold_out_valid
from manyheads.data.images import read_idx
from manyheads.errors import InvalidParameterError
from manyheads.tasks.task import Task

__all__ = [
    "INTERPOLATIONS",
    "compose",
    "load_multi_fashion",
    "load_multi_mnist",
    "make_multi",
    "overlay",
    "read_idx",
    "resize",
]

INTERPOLATIONS = ("bilinear", "nearest")
_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def compose(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The 36 x 36 canvases: ``left`` at ``[0:28, 0:28]``, ``right`` at ``[6:34, 6:34]``, max.

    Args:
        left: ``[N, 28, 28]`` uint8.
        right: ``[N, 28, 28]`` uint8.

    Returns:
        ``[N, 36, 36]`` uint8; in the overlap ``[6:28, 6:28]`` the pixel-wise maximum.

    Example:
        >>> ones = np.ones((1, 28, 28), dtype=np.uint8)
        >>> int(compose(ones, 2 * ones).sum())  # 28*28*2 + (28*28 - 22*22) * 1
        1868
    """
    canvas = np.zeros((len(left), 36, 36), dtype=np.uint8)
    canvas[:, 0:28, 0:28] = left
    canvas[:, 6:34, 6:34] = np.maximum(canvas[:, 6:34, 6:34], right)
    return canvas


def resize(canvas: np.ndarray, *, interpolation: str = "bilinear") -> np.ndarray:
    """Resize ``[N, 36, 36]`` uint8 canvases to ``[N, 28, 28]`` uint8 (rounded).

    Args:
        canvas: the composites of :func:`compose`.
        interpolation: ``bilinear`` (``antialias=True``) or ``nearest`` (``nearest-exact``).

    Raises:
        InvalidParameterError: an unknown ``interpolation``.

    Example:
        >>> resize(np.full((1, 36, 36), 7, dtype=np.uint8)).max()
        np.uint8(7)
    """
    _check_interpolation(interpolation)
    out = np.empty((len(canvas), 28, 28), dtype=np.uint8)
    for start in range(0, len(canvas), 8192):  # chunks keep the float copy small
        chunk = torch.from_numpy(canvas[start : start + 8192]).unsqueeze(1).float()
        if interpolation == "bilinear":
            small = F.interpolate(
                chunk, size=(28, 28), mode="bilinear", align_corners=False, antialias=True
            )
        else:
            small = F.interpolate(chunk, size=(28, 28), mode="nearest-exact")
        out[start : start + 8192] = small.squeeze(1).round().clamp(0, 255).to(torch.uint8).numpy()
    return out


def overlay(
    images: np.ndarray, partners: np.ndarray, *, interpolation: str = "bilinear"
) -> np.ndarray:
    """Sener & Koltun's composite of ``images[i]`` (left) and ``images[partners[i]]`` (right).

    Args:
        images: ``[N, 28, 28]`` uint8.
        partners: ``[N]`` indices into ``images`` of each right item.
        interpolation: see :func:`resize`.

    Returns:
        ``[N, 28, 28]`` uint8: :func:`compose` then :func:`resize`.

    Example:
        >>> img = np.zeros((1, 28, 28), dtype=np.uint8); img[0, 0, 0] = 255
        >>> overlay(img, np.array([0]), interpolation="nearest")[0, 0, 0]
        np.uint8(255)
    """
    _check_interpolation(interpolation)  # before the work of compose
    return resize(compose(images, images[partners]), interpolation=interpolation)


def _check_interpolation(interpolation: object) -> None:
    if interpolation not in INTERPOLATIONS:
        raise InvalidParameterError(
            f"The 'interpolation' option of MultiMNIST must be one of "
            f"{', '.join(INTERPOLATIONS)}. Got {interpolation!r} instead."
            f"{did_you_mean(str(interpolation), list(INTERPOLATIONS))}"
        )


def make_multi(
    images: np.ndarray, labels: np.ndarray, *, seed: int, interpolation: str = "bilinear"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair every image with a random partner of the same split and overlay them.

    Args:
        images: ``[N, 28, 28]`` uint8 of one split.
        labels: ``[N]`` class of each image.
        seed: seeds the partner draw.
        interpolation: see :func:`overlay`.

    Returns:
        ``(pixels [N, 28, 28] uint8, left [N], right [N])``.

    Example:
        >>> imgs = np.zeros((4, 28, 28), dtype=np.uint8)
        >>> pixels, left, right = make_multi(imgs, np.arange(4), seed=0)
        >>> pixels.shape, left.tolist()
        ((4, 28, 28), [0, 1, 2, 3])
    """
    partners = np.random.default_rng(seed).integers(0, len(images), size=len(images))
    pixels = overlay(images, partners, interpolation=interpolation)
    return pixels, labels.astype(np.int64), labels[partners].astype(np.int64)


def _frame(pixels: np.ndarray, left: np.ndarray, right: np.ndarray, where: str) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"image": pd.Series(list(pixels), dtype=object), "left": left, "right": right}
    )
    frame.index = pd.RangeIndex(1, len(frame) + 1)  # 1-based row numbers name bad rows
    frame.attrs["path"] = where
    frame.attrs["row_word"] = "row"
    return frame


def _subsample(frame: pd.DataFrame, n: int | None, name: str, seed: int) -> pd.DataFrame:
    if n is None:
        return frame
    if isinstance(n, bool) or not isinstance(n, int) or not 10 <= n <= len(frame):
        raise InvalidParameterError(
            f"The '{name}' option of MultiMNIST must be an int in [10, {len(frame)}] or null. "
            f"Got {n!r} instead."
        )
    keep = np.sort(np.random.default_rng(seed).choice(len(frame), size=n, replace=False))
    part = frame.iloc[keep].copy()
    part.attrs.update(frame.attrs)
    return part


def _load(
    folder: str,
    name: str,
    *,
    seed: int,
    n_train: int | None,
    n_test: int | None,
    interpolation: str,
) -> DatasetSplits:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidParameterError(f"The 'seed' option of {name} must be an int. Got {seed!r}.")
    _check_interpolation(interpolation)
    root = data_root(folder)
    frames = {}
    for k, (split, (images_file, labels_file)) in enumerate(_FILES.items()):
        images, labels = read_idx(root / images_file), read_idx(root / labels_file)
        pixels, left, right = make_multi(
            images, labels, seed=seed * 10 + k, interpolation=interpolation
        )
        frames[split] = _frame(pixels, left, right, f"{root / images_file}:{name}")
    train = _subsample(frames["train"], n_train, "n_train", seed * 10 + 2)
    test = _subsample(frames["test"], n_test, "n_test", seed * 10 + 3)
    train, valid = hold_out_valid(train, seed * 10 + 4)
    for part in (train, valid):
        part.attrs.update(test.attrs)
        part.attrs["path"] = frames["train"].attrs["path"]
    return DatasetSplits(
        name=name,
        train=train,
        valid=valid,
        test=test,
        tasks=(Task("left", type="multiclass"), Task("right", type="multiclass")),
        inputs={"image": "image"},
        description=f"{name} (Sener & Koltun 2018 construction, seed {seed}, {interpolation})",
    )


def load_multi_mnist(
    *,
    seed: int = 0,
    n_train: int | None = None,
    n_test: int | None = None,
    interpolation: str = "bilinear",
) -> DatasetSplits:
    """MultiMNIST from ``$MANYHEADS_DATA/mnist`` (Sener & Koltun, NeurIPS 2018, §6.1).

    Args:
        seed: seeds the partner draws, the subsamples and the validation split.
        n_train: use this many of the 60,000 train images (seeded subset; 10% of them become
            the validation split); None uses all.
        n_test: use this many of the 10,000 test images; None uses all.
        interpolation: ``bilinear`` (antialiased, default) or ``nearest`` (their original).

    Returns:
        Splits with an ``image`` column (28 x 28 uint8 arrays) and tasks ``left`` and ``right``
        (multiclass, digits 0-9).

    Raises:
        DataError: ``$MANYHEADS_DATA`` or the IDX files are missing.
        InvalidParameterError: a bad option.

    Example:
        >>> data = load_multi_mnist(n_train=100, n_test=20)  # doctest: +SKIP
        >>> len(data.train), len(data.valid), len(data.test)  # doctest: +SKIP
        (90, 10, 20)
    """
    return _load(
        "mnist",
        "multi-mnist",
        seed=seed,
        n_train=n_train,
        n_test=n_test,
        interpolation=interpolation,
    )


def load_multi_fashion(
    *,
    seed: int = 0,
    n_train: int | None = None,
    n_test: int | None = None,
    interpolation: str = "bilinear",
) -> DatasetSplits:
    """MultiFashion: :func:`load_multi_mnist`'s construction, with its arguments, on
    ``$MANYHEADS_DATA/fashion-mnist`` (60,000 train and 10,000 test images as well).

    Returns:
        Splits with an ``image`` column and tasks ``left`` and ``right`` (classes 0-9).
    """
    return _load(
        "fashion-mnist",
        "multi-fashion",
        seed=seed,
        n_train=n_train,
        n_test=n_test,
        interpolation=interpolation,
    )
