"""The train/valid/test split of a built table: a salted hash of a stable key per row.

A row keeps its split as other rows come and go, and (for the ``url`` key) when the site moves
to another host, port or scheme.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from manyheads.curation._config import BuildConfig
from manyheads.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["assign_splits", "split_of"]


def split_of(key: str, *, valid: float, test: float, salt: str) -> str:
    """``train``/``valid``/``test`` from a hash of ``key``: stable as rows come and go.

    Example:
        >>> split_of("http://h/review/1", valid=0.1, test=0.1, salt="manyheads")
        'train'
    """
    digest = hashlib.sha256(f"{salt}\0{key}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    return "test" if u < test else "valid" if u < test + valid else "train"


def assign_splits(frame: pd.DataFrame, config: BuildConfig, source: str) -> None:
    if config.split_key not in frame.columns:
        raise DataError(
            f"the split key column '{config.split_key}' is not in the records "
            "(set split.key to a stable id column).",
            path=source,
        )
    keys = frame[config.split_key].astype(str)
    if config.split_key == "url":
        # Hash the path and query only: the split survives a move to another host, port or
        # scheme (a mirror, http -> https, a test server on a random port).
        keys = keys.map(_url_path)
    frame[config.split_column] = keys.map(
        lambda k: split_of(k, valid=config.valid, test=config.test, salt=config.salt)
    )


def _url_path(url: str) -> str:
    """``/review/1?x=2`` from ``http://host:8000/review/1?x=2``."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
