"""Learn the input encoding on the training split and apply it to any split.

* numeric: standardised with train mean/std; missing cells imputed with the train mean plus a
  0/1 missing indicator (for columns that had missing values in train).
* categorical: a vocabulary from train; index 0 is reserved for unseen or missing values. All
  categorical columns share one embedding table through per-column offsets.
* text: :class:`~manyheads.data.text.TextVocab` (word + hashed bigram ids, 0-padded).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from manyheads.data.tensors import EncodedTable
from manyheads.data.text import TextVocab
from manyheads.errors import DataError, NotFittedError
from manyheads.tasks._base import first_line, label_strings, missing_mask
from manyheads.tasks._registry import get_kind
from manyheads.tasks.task import Task

__all__ = ["INPUT_KINDS", "InputSpec", "TablePreprocessor", "infer_kind"]

INPUT_KINDS = ("numeric", "categorical", "text")


@dataclass(frozen=True)
class InputSpec:
    """Sizes the input layer needs: numeric width, categorical cardinalities, text vocab sizes."""

    n_numeric: int
    cardinalities: tuple[int, ...]
    text_sizes: tuple[tuple[str, int], ...]


def infer_kind(series: pd.Series) -> str:
    """Guess ``numeric``, ``categorical`` or ``text`` for a column.

    Example:
        >>> infer_kind(pd.Series([1.5, 2.0, 3.25]))
        'numeric'
        >>> infer_kind(pd.Series(["red", "blue", "red"]))
        'categorical'
    """
    values = series[~missing_mask(series)]
    if pd.api.types.is_bool_dtype(values.dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(values.dtype):
        return "numeric"
    text = values.astype(str)
    if text.empty:
        return "categorical"
    mean_words = float(text.str.split().str.len().mean())
    unique_share = text.nunique() / len(text)
    if mean_words >= 3.0 or (unique_share > 0.5 and len(text) > 50):
        return "text"
    return "categorical"


class TablePreprocessor:
    """Fits input encodings and task label states on train; encodes frames to tensors.

    Args:
        inputs: column -> kind (``numeric``, ``categorical``, ``text``).
        tasks: the tasks whose labels are encoded.
        text_options: keyword arguments of :class:`TextVocab`.

    Example:
        >>> frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
        >>> pre = TablePreprocessor({"x": "numeric"}, [Task("y", type="binary")]).fit(frame)
        >>> pre.transform(frame).x["num"].shape
        torch.Size([3, 1])
    """

    def __init__(
        self,
        inputs: dict[str, str],
        tasks: list[Task],
        *,
        text_options: dict[str, int] | None = None,
    ) -> None:
        self.inputs = dict(inputs)
        self.tasks = list(tasks)
        self.text_options = dict(text_options or {})
        self.numeric_: dict[str, dict[str, float | bool]] | None = None
        self.categorical_: dict[str, list[str]] = {}
        self.text_: dict[str, TextVocab] = {}
        self.task_states_: dict[str, dict[str, Any]] = {}

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame) -> TablePreprocessor:
        """Learn statistics, vocabularies and label states from the training frame."""
        path = str(frame.attrs.get("path", "<train>"))
        self._check_columns(frame, path)
        self.numeric_ = {}
        for col, kind in self.inputs.items():
            if kind == "numeric":
                values, missing = _numeric(frame, col, path)
                observed = values[~missing]
                mean = float(observed.mean()) if observed.size else 0.0
                std = float(observed.std()) if observed.size else 1.0
                self.numeric_[col] = {
                    "mean": mean,
                    "std": std if std > 0 else 1.0,
                    "indicator": bool(missing.any()),
                }
            elif kind == "categorical":
                miss = missing_mask(frame[col])
                values = label_strings(frame[col][~miss])
                self.categorical_[col] = sorted(values.unique().tolist())
            else:
                vocab = TextVocab(**self.text_options)
                self.text_[col] = vocab.fit(_texts(frame[col]))
        for task in self.tasks:
            self.task_states_[task.name] = get_kind(task.type).fit(task, frame, path)
        return self

    def _check_columns(self, frame: pd.DataFrame, path: str) -> None:
        for col in self.inputs:
            if col not in frame.columns:
                raise DataError(
                    f"the input column '{col}' is missing. Columns present: "
                    f"{', '.join(map(str, frame.columns[:30]))}.",
                    path=path,
                )

    # -- encoding ------------------------------------------------------------------------------
    def transform(self, frame: pd.DataFrame, *, labels: bool = True) -> EncodedTable:
        """Encode ``frame``: inputs always, task labels when ``labels`` is True."""
        if self.numeric_ is None:
            raise NotFittedError("TablePreprocessor.transform called before fit().")
        path = str(frame.attrs.get("path", "<data>"))
        self._check_columns(frame, path)
        x: dict[str, torch.Tensor] = {}
        num = self._encode_numeric(frame, path)
        if num is not None:
            x["num"] = num
        if self.categorical_:
            x["cat"] = self._encode_categorical(frame)
        for col, vocab in self.text_.items():
            x[f"text:{col}"] = torch.from_numpy(vocab.encode(_texts(frame[col])))
        y: dict[str, torch.Tensor] = {}
        mask: dict[str, torch.Tensor] = {}
        if labels:
            for task in self.tasks:
                state = self.task_states_[task.name]
                y[task.name], mask[task.name] = get_kind(task.type).encode(task, state, frame, path)
        return EncodedTable(x=x, y=y, mask=mask, n_rows=len(frame))

    def _encode_numeric(self, frame: pd.DataFrame, path: str) -> torch.Tensor | None:
        assert self.numeric_ is not None
        blocks: list[np.ndarray] = []
        for col, st in self.numeric_.items():
            values, missing = _numeric(frame, col, path)
            z = (np.where(missing, st["mean"], values) - st["mean"]) / st["std"]
            blocks.append(z)
            if st["indicator"]:
                blocks.append(missing.astype(np.float64))
        if not blocks:
            return None
        return torch.from_numpy(np.stack(blocks, axis=1).astype(np.float32))

    def _encode_categorical(self, frame: pd.DataFrame) -> torch.Tensor:
        cols = []
        for col, vocab in self.categorical_.items():
            lookup = {v: i + 1 for i, v in enumerate(vocab)}  # 0: unseen or missing
            miss = missing_mask(frame[col])
            idx = label_strings(frame[col]).map(lookup).fillna(0).to_numpy(dtype=np.int64)
            cols.append(np.where(miss, 0, idx))
        return torch.from_numpy(np.stack(cols, axis=1))

    # -- metadata ------------------------------------------------------------------------------
    @property
    def spec(self) -> InputSpec:
        """The sizes the model's input layer needs."""
        if self.numeric_ is None:
            raise NotFittedError("TablePreprocessor.spec needs fit() first.")
        n_num = sum(2 if st["indicator"] else 1 for st in self.numeric_.values())
        cards = tuple(len(v) + 1 for v in self.categorical_.values())
        texts = tuple((col, vocab.n_ids) for col, vocab in self.text_.items())
        return InputSpec(n_numeric=n_num, cardinalities=cards, text_sizes=texts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state: everything prediction needs to encode raw rows."""
        return {
            "inputs": self.inputs,
            "numeric": self.numeric_,
            "categorical": self.categorical_,
            "text": {col: v.to_dict() for col, v in self.text_.items()},
            "task_states": self.task_states_,
            "text_options": self.text_options,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], tasks: list[Task]) -> TablePreprocessor:
        """Inverse of :meth:`to_dict`."""
        pre = cls(data["inputs"], tasks, text_options=data.get("text_options"))
        pre.numeric_ = data["numeric"]
        pre.categorical_ = data["categorical"]
        pre.text_ = {col: TextVocab.from_dict(d) for col, d in data["text"].items()}
        pre.task_states_ = data["task_states"]
        return pre


def _numeric(frame: pd.DataFrame, col: str, path: str) -> tuple[np.ndarray, np.ndarray]:
    series = frame[col]
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        return np.nan_to_num(values, nan=0.0), ~np.isfinite(values)
    raw = series.astype("string").str.strip()
    empty = (raw.isna() | raw.eq("")).to_numpy(dtype=bool)
    parsed = pd.to_numeric(raw.where(~pd.Series(empty, index=raw.index)), errors="coerce")
    values = parsed.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values) & ~empty
    if bad.any():
        cell = series.to_numpy()[np.flatnonzero(bad)[0]]
        raise DataError(
            f"numeric input expected, got {cell!r}. Fix the cell, leave it empty for a missing "
            f"value, or declare the column as categorical or text in 'inputs'.",
            path=path,
            line=first_line(frame, bad),
            column=col,
        )
    missing = ~np.isfinite(values)
    return np.nan_to_num(values, nan=0.0), missing


def _texts(series: pd.Series) -> list[str]:
    miss = missing_mask(series)
    return [("" if m else str(v)) for v, m in zip(series.tolist(), miss, strict=True)]
