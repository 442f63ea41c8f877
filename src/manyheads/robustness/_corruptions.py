"""Input corruptions: each one turns the raw cells of one input kind into noisier ones, seeded.

Applied to the raw frame (before the run's own encoding), so that every model sees the same
corrupted rows whatever its encoder, and a categorical value turned into one the training data
never had lands on the reserved unseen index (0) exactly as a new value in production would.
The names and what ``strength`` means for each are listed in :data:`CORRUPTIONS` and in
docs/robustness.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["CORRUPTIONS", "UNSEEN_CATEGORY", "Corruption", "corrupt_frame"]

#: The value a dropped category becomes: no training data holds it, so the run's categorical
#: encoding maps it to the unseen index.
UNSEEN_CATEGORY = "\x00manyheads-unseen"

Apply = Callable[[pd.Series, float, np.random.Generator], pd.Series]


@dataclass(frozen=True)
class Corruption:
    """One corruption: the input kinds it applies to, what its strength is, and the function.

    ``probability``: the strength is a probability per cell / word, so it must lie in [0, 1];
    otherwise it is a multiple of a scale (>= 0).
    """

    name: str
    kinds: tuple[str, ...]
    strength: str
    probability: bool
    apply: Apply


def gaussian_noise(column: pd.Series, strength: float, rng: np.random.Generator) -> pd.Series:
    """``x + N(0, (strength · std(x))²)`` on a numeric column; missing cells stay missing.

    Example:
        >>> s = pd.Series([1.0, 2.0, None, 4.0])
        >>> out = gaussian_noise(s, 0.0, np.random.default_rng(0))
        >>> out.tolist()[:2], bool(out.isna()[2])
        ([1.0, 2.0], True)
    """
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    scale = float(np.nanstd(values)) if np.isfinite(values).any() else 0.0
    noisy = values + rng.normal(0.0, 1.0, size=len(values)) * strength * scale
    return pd.Series(noisy, index=column.index, name=column.name)


def category_dropout(column: pd.Series, strength: float, rng: np.random.Generator) -> pd.Series:
    """Each cell, with probability ``strength``, becomes a value no training data has.

    Example:
        >>> out = category_dropout(pd.Series(["a", "b"] * 50), 1.0, np.random.default_rng(0))
        >>> bool((out == UNSEEN_CATEGORY).all())
        True
    """
    hit = rng.random(len(column)) < strength
    out = column.astype(object).copy()
    out[hit] = UNSEEN_CATEGORY
    return out


def word_dropout(column: pd.Series, strength: float, rng: np.random.Generator) -> pd.Series:
    """Each word of a text cell is dropped with probability ``strength`` (missing cells stay).

    Example:
        >>> word_dropout(pd.Series(["a lovely soft dress"]), 0.0, np.random.default_rng(0))[0]
        'a lovely soft dress'
    """
    cells = []
    for cell in column.tolist():
        if not isinstance(cell, str):
            cells.append(cell)
            continue
        words = cell.split()
        keep = rng.random(len(words)) >= strength
        cells.append(" ".join(w for w, k in zip(words, keep, strict=True) if k))
    return pd.Series(cells, index=column.index, name=column.name, dtype=object)


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def typo(word: str, rng: np.random.Generator) -> str:
    """One random keyboard slip in ``word``: swap two neighbours, drop, insert or replace a letter.

    Example:
        >>> typo("a", np.random.default_rng(0))  # too short to change
        'a'
        >>> len(typo("dress", np.random.default_rng(0))) in (4, 5, 6)
        True
    """
    if len(word) < 2:
        return word
    i = int(rng.integers(len(word) - 1))
    letter = _LETTERS[int(rng.integers(len(_LETTERS)))]
    kind = int(rng.integers(4))
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    if kind == 2:
        return word[:i] + letter + word[i:]
    return word[:i] + letter + word[i + 1 :]


def _typos(words: list[str], strength: float, rng: np.random.Generator) -> list[str]:
    hit = rng.random(len(words)) < strength
    return [typo(w, rng) if h else w for w, h in zip(words, hit, strict=True)]


def character_typos(column: pd.Series, strength: float, rng: np.random.Generator) -> pd.Series:
    """Each word gets one :func:`typo` with probability ``strength``: in a text cell (a string)
    or a tokens cell (a list of words, whose length, and so its alignment with per-word labels,
    is kept).

    Example:
        >>> cells = pd.Series([["New", "York"], "big apple"])
        >>> character_typos(cells, 0.0, np.random.default_rng(0)).tolist()
        [['New', 'York'], 'big apple']
    """
    cells: list[object] = []
    for cell in column.tolist():
        if isinstance(cell, str):
            cells.append(" ".join(_typos(cell.split(), strength, rng)))
        elif isinstance(cell, list | tuple | np.ndarray):
            cells.append(_typos([str(w) for w in cell], strength, rng))
        else:
            cells.append(cell)
    return pd.Series(cells, index=column.index, name=column.name, dtype=object)


def pixel_noise(column: pd.Series, strength: float, rng: np.random.Generator) -> pd.Series:
    """``pixel + N(0, (strength · range)²)``, clipped to the range and cast back to the cells'
    dtype. The range is 0-255 for integer images, else the column's lowest to highest pixel.

    Example:
        >>> img = np.full((2, 2), 100, dtype=np.uint8)
        >>> out = pixel_noise(pd.Series([img]), 1.0, np.random.default_rng(0))[0]
        >>> out.dtype.name, bool((out != 100).any())
        ('uint8', True)
    """
    images = [np.asarray(c) for c in column.tolist()]
    if all(np.issubdtype(i.dtype, np.integer) for i in images):
        low, high = 0.0, 255.0
    else:
        low = float(min(i.min() for i in images))
        high = float(max(i.max() for i in images))
    noisy = []
    for image in images:
        values = image.astype(float) + rng.normal(0.0, strength * (high - low), size=image.shape)
        noisy.append(np.clip(values, low, high).astype(image.dtype))
    return pd.Series(noisy, index=column.index, name=column.name, dtype=object)


#: Every corruption by name (docs/robustness.md lists them with what their strength means).
CORRUPTIONS: dict[str, Corruption] = {
    c.name: c
    for c in (
        Corruption("gaussian", ("numeric",), "noise std / column std", False, gaussian_noise),
        Corruption(
            "category_dropout",
            ("categorical",),
            "share of cells made unseen",
            True,
            category_dropout,
        ),
        Corruption("word_dropout", ("text",), "share of words dropped", True, word_dropout),
        Corruption(
            "typos", ("text", "tokens"), "share of words with a typo", True, character_typos
        ),
        Corruption("pixel_noise", ("image",), "noise std / pixel range", False, pixel_noise),
    )
}


def corrupt_frame(
    frame: pd.DataFrame,
    columns: list[str],
    corruption: Corruption,
    strength: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """A copy of ``frame`` whose ``columns`` went through ``corruption`` at ``strength``
    (the labels and the other columns are untouched; the index and attrs are kept)."""
    out = frame.copy()
    for column in columns:
        out[column] = corruption.apply(frame[column], strength, rng)
    out.attrs = dict(frame.attrs)
    return out
