"""The rows a user hands to a run: a DataFrame or a file path (:data:`Data`), read as one frame."""

from __future__ import annotations

from pathlib import Path
from typing import TypeAlias

import pandas as pd

from manyheads.data.io import read_table

__all__ = ["Data", "as_frame"]

Data: TypeAlias = pd.DataFrame | str | Path


def as_frame(data: Data) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        frame = data.copy()
        if "path" not in data.attrs:  # a file's rows (read_table) keep their lines
            frame.index = pd.RangeIndex(1, len(frame) + 1)
        frame.attrs.setdefault("path", "<DataFrame>")
        return frame
    return read_table(data)
