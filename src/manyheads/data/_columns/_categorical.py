"""``categorical`` columns: a vocabulary learnt on train; index 0 is unseen or missing.

All categorical columns share one embedding table through per-column offsets, so each column
adds one cardinality (its vocabulary plus the reserved index) to the input spec.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from manyheads.data._columns._base import ColumnEncoder, ColumnExample
from manyheads.data._spec import InputSpec
from manyheads.tasks._base import label_string, label_strings, missing_cell, missing_mask

__all__ = ["CategoricalColumn"]

#: Up to this many rows, an ``object`` or string column is looked up cell by cell: pandas' fixed
#: cost per call (about 1 ms a column) would dominate a served request of one row.
SMALL_FRAME = 64


class CategoricalColumn(ColumnEncoder[list[str]]):
    """Index one categorical column; its state is the sorted list of train values.

    Example:
        >>> col = CategoricalColumn("c", {})
        >>> col.fit(pd.DataFrame({"c": ["b", "a", None]}), "<train>")
        >>> col.transform(pd.DataFrame({"c": ["b", "zzz", None]}), "<test>")["cat"].tolist()
        [[2], [0], [0]]
    """

    kind: ClassVar[str] = "categorical"
    section = "categorical"
    stage = 1
    example = ColumnExample(train=("red", "blue", "red", "green"), unseen=("purple", "RED"))

    def fit(self, frame: pd.DataFrame, path: str) -> None:
        """Learn the values of the labelled train cells (canonical strings, sorted)."""
        del path
        miss = missing_mask(frame[self.column])
        self.state_ = sorted(label_strings(frame[self.column][~miss]).unique().tolist())

    def transform(self, frame: pd.DataFrame, path: str) -> dict[str, Tensor]:
        """``{"cat": [N, 1]}`` int64: 1-based value index, 0 for unseen or missing cells."""
        del path
        lookup = self._lookup()
        series = frame[self.column]
        text = series.dtype == object or isinstance(series.dtype, pd.StringDtype)
        if len(series) <= SMALL_FRAME and text:  # the vectorised path's values, cell by cell
            cells = series.tolist()
            idx = np.array(
                [0 if missing_cell(v) else lookup.get(label_string(v), 0) for v in cells],
                dtype=np.int64,
            )
            return {"cat": torch.from_numpy(idx[:, None])}
        miss = missing_mask(series)
        idx = label_strings(series).map(lookup).fillna(0).to_numpy(dtype=np.int64)
        return {"cat": torch.from_numpy(np.where(miss, 0, idx)[:, None])}

    def _lookup(self) -> dict[str, int]:
        """Value -> 1-based index (0: unseen or missing), built once per fitted state."""
        values = self.fitted_state("transform")
        cached = getattr(self, "_lookup_cache", None)
        if cached is None or cached[0] is not values:
            cached = (values, {v: i + 1 for i, v in enumerate(values)})
            self._lookup_cache = cached
        return cached[1]

    def spec(self) -> InputSpec:
        """One cardinality: the train values plus the reserved index 0."""
        return InputSpec(0, (len(self.fitted_state("spec")) + 1,), ())
