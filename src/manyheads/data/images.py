"""Image inputs from files: ``.npz`` tables of arrays, and columns of PNG/JPEG file paths.

* :func:`read_npz`: an ``.npz`` archive (numpy's ``savez``) whose ``images`` array is
  ``[N, H, W]`` or ``[N, C, H, W]`` and whose other arrays are 1-D of length N (labels, ids)
  becomes a table with an ``image`` column of arrays and one column per other array.
* :func:`read_image_files`: a column of image file paths (relative paths are relative to the
  table's folder) is decoded with Pillow into arrays ``H x W`` (grey) or ``3 x H x W`` (colour),
  the cells the ``image`` input kind reads (:mod:`manyheads.data.preprocess`). A cell may also
  name one image of an array file, ``ARRAYS#ROW`` (ROW counts from 0): the ``images`` array of
  an ``.npz`` archive, or an IDX file (LeCun's MNIST format, ``*-ubyte``, ``.idx``, optionally
  gzipped), so that labels and boxes can live in a CSV/JSONL next to the arrays.
* :func:`read_idx`: an IDX file of uint8 values into an array.

Nothing is unpickled: ``.npz`` files are opened with ``allow_pickle=False``.
"""

from __future__ import annotations

import gzip
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from manyheads.errors import DataError

__all__ = [
    "IMAGE_SUFFIXES",
    "array_reference",
    "is_image_path",
    "read_idx",
    "read_image_files",
    "read_npz",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_GREY_MODES = {"L", "1", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F"}
#: ``ARRAYS#ROW``: row ROW of an .npz archive's ``images`` or of an IDX file (gzipped or not).
_ARRAY_REFERENCE = re.compile(r"(?P<file>.+?(?:\.npz|ubyte|\.idx)(?:\.gz)?)#(?P<row>\d+)", re.I)
_IDX_UINT8 = 0x08


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file of unsigned bytes (LeCun's MNIST format), gzipped or not.

    Raises:
        DataError: the file is missing, or is not a uint8 IDX file, or is truncated.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "labels-idx1-ubyte.gz"
        >>> with gzip.open(path, "wb") as fh:
        ...     _ = fh.write((2049).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes([7, 1, 4]))
        >>> read_idx(path).tolist()
        [7, 1, 4]
    """
    text = str(path)
    try:
        with open(text, "rb") as fh:
            raw = fh.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read as an IDX file: {exc}.", path=text) from None
    magic = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else -1
    ndim = magic & 0xFF
    if len(raw) < 4 or magic >> 8 != _IDX_UINT8 or ndim == 0:
        raise DataError(
            f"not a uint8 IDX file: magic number {magic}, expected 0x0000080N (2049 for "
            "labels, 2051 for images).",
            path=text,
        )
    dims = [int.from_bytes(raw[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=min(len(raw), 4 + 4 * ndim))
    if len(raw) < 4 + 4 * ndim or data.size != int(np.prod(dims)):
        raise DataError(
            f"truncated IDX file: header says {dims}, found {data.size} values.", path=text
        )
    return data.reshape(dims)


def array_reference(cell: object) -> tuple[str, int] | None:
    """``(file, row)`` of an ``ARRAYS#ROW`` image cell, else None.

    Example:
        >>> array_reference("train-images-idx3-ubyte.gz#17"), array_reference("a.png")
        (('train-images-idx3-ubyte.gz', 17), None)
    """
    if not isinstance(cell, str):
        return None
    found = _ARRAY_REFERENCE.fullmatch(cell.strip())
    return None if found is None else (found["file"], int(found["row"]))


def read_npz(path: str | Path) -> pd.DataFrame:
    """Read an ``.npz`` archive of ``images`` plus 1-D arrays into a table.

    Args:
        path: the ``.npz`` file.

    Returns:
        A frame with an ``image`` column (one ``H x W`` or ``C x H x W`` array per row) and one
        column per 1-D array; its index is the 1-based row number.

    Raises:
        DataError: the file is unreadable, has no ``images`` array, an array of another shape
            or length, or a pickled (object) array.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "t.npz"
        >>> np.savez(path, images=np.zeros((3, 8, 8), np.uint8), label=np.array([0, 1, 0]))
        >>> frame = read_npz(path)
        >>> list(frame.columns), frame.index.tolist(), frame["image"].iloc[0].shape
        (['image', 'label'], [1, 2, 3], (8, 8))
    """
    text = str(path)
    try:
        with open(text, "rb") as fh:  # closed even when numpy fails half-way
            if fh.read(4) != b"PK\x03\x04":
                raise DataError(
                    "not an .npz archive (a zip of .npy arrays, as numpy.savez writes).", path=text
                )
            fh.seek(0)
            with np.load(fh, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
    except ValueError as exc:  # numpy refuses object arrays without allow_pickle
        raise DataError(
            f"cannot read the .npz archive without unpickling ({exc}). Save numeric and string "
            "arrays only (no object arrays).",
            path=text,
        ) from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"cannot read as .npz: {exc}.", path=text) from None
    images = arrays.pop("images", None)
    if images is None or images.ndim not in (3, 4):
        got = "no 'images' array" if images is None else f"'images' of shape {images.shape}"
        raise DataError(
            f"an .npz table needs an 'images' array [N, H, W] or [N, C, H, W]; found {got} "
            f"(arrays: {', '.join(['images', *arrays] if images is not None else arrays)}).",
            path=text,
        )
    n = len(images)
    for name, values in arrays.items():
        if values.ndim != 1 or len(values) != n:
            raise DataError(
                f"the array '{name}' has shape {values.shape}; every array besides 'images' "
                f"must be 1-D with one value per image ({n}). Fix or remove it.",
                path=text,
            )
    frame = pd.DataFrame({"image": pd.Series(list(images), dtype=object), **arrays})
    frame.index = pd.RangeIndex(1, n + 1)
    return frame


def is_image_path(cell: object) -> bool:
    """True for a string that names a PNG or JPEG file (by its suffix) or ``ARRAYS#ROW``.

    Example:
        >>> is_image_path("img/cat.PNG"), is_image_path("cat"), is_image_path(3)
        (True, False, False)
        >>> is_image_path("digits.npz#0")
        True
    """
    if array_reference(cell) is not None:
        return True
    return isinstance(cell, str) and cell.strip().lower().endswith(IMAGE_SUFFIXES)


def read_image_files(frame: pd.DataFrame, column: str, *, table: str | None = None) -> pd.Series:
    """Decode the image files named in ``frame[column]`` into arrays.

    Args:
        frame: the table; its index holds the line of each row (see :mod:`manyheads.data.io`).
        column: the column of file paths.
        table: the table's file, which relative paths are relative to; defaults to
            ``frame.attrs["path"]`` (the working directory when the frame has none).

    Returns:
        One array per row, ``H x W`` for grey images and ``3 x H x W`` (channels first) for
        colour ones (an alpha channel or a palette is converted to RGB), with the frame's index.

    Raises:
        DataError: Pillow is missing, or a cell is empty, not a path, or names a file that is
            missing or cannot be decoded (the message names the table, line, column and image).

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> folder = Path(tempfile.mkdtemp())
        >>> Image.new("L", (5, 4), color=7).save(folder / "a.png")
        >>> frame = pd.DataFrame({"img": ["a.png"]}, index=[2])
        >>> read_image_files(frame, "img", table=str(folder / "t.csv")).iloc[0].shape
        (4, 5)
    """
    source = table if table is not None else frame.attrs.get("path")
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow ships with matplotlib
        raise DataError(
            "reading image files needs Pillow. Install it with: pip install pillow.",
            path=source,
            column=column,
        ) from None
    base = Path(str(source)).parent if source is not None else Path()
    archives: dict[Path, np.ndarray] = {}
    arrays: list[np.ndarray] = []
    for line, cell in zip(frame.index, frame[column].tolist(), strict=True):
        where: dict[str, Any] = {"path": source, "line": int(line), "column": column}
        if not is_image_path(cell):
            raise DataError(
                f"expected the path of a .png or .jpg file, or ARRAYS#ROW (a row of an .npz "
                f"or IDX image array); got {cell!r}. Fix the cell or drop the row.",
                **where,
            )
        reference = array_reference(cell)
        if reference is not None:
            arrays.append(_array_row(base, archives, *reference, where=where))
            continue
        file = base / str(cell).strip()
        try:
            with Image.open(file) as img:
                arrays.append(_pixels(img))
        except (OSError, ValueError) as exc:  # missing, unreadable or undecodable files
            raise DataError(
                f"cannot read the image '{cell}' ({file}): {exc}. Check that the file exists "
                "(relative paths are relative to the table's folder) and is a valid PNG/JPEG.",
                **where,
            ) from None
    return pd.Series(arrays, index=frame.index, dtype=object, name=column)


def _array_row(
    base: Path, cache: dict[Path, np.ndarray], name: str, row: int, *, where: dict[str, Any]
) -> np.ndarray:
    """Row ``row`` of the image array file ``name`` (read once per table, kept in ``cache``)."""
    file = base / name
    if file not in cache:
        try:
            if file.name.lower().endswith((".npz",)):
                cache[file] = np.stack(read_npz(file)["image"].tolist())
            else:
                cache[file] = read_idx(file)
        except DataError as exc:
            raise DataError(f"cannot read the image array '{name}': {exc}", **where) from None
    images = cache[file]
    if images.ndim not in (3, 4) or row >= len(images):
        found = f"{len(images)} images" if images.ndim in (3, 4) else f"shape {images.shape}"
        raise DataError(
            f"'{name}#{row}' names no image: the array has {found} (rows count from 0).",
            **where,
        )
    return np.asarray(images[row])


def _pixels(img: object) -> np.ndarray:
    """A decoded Pillow image as ``H x W`` (grey) or ``3 x H x W`` (colour)."""
    from PIL import Image

    assert isinstance(img, Image.Image)
    if img.mode in _GREY_MODES:
        grey = img.convert("L") if img.mode in {"1", "LA", "La"} else img
        return np.asarray(grey)
    return np.asarray(img.convert("RGB")).transpose(2, 0, 1)
