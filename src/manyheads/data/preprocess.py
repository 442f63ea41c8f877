"""Learn the input encoding on the training split and apply it to any split.

One column encoder per input column, of the class registered for its input kind
(:data:`~manyheads.data._columns.COLUMN_ENCODERS`; each kind's module says what it does):

* numeric: standardised with train mean/std, missing cells imputed (``_columns/_numeric.py``);
* categorical: a vocabulary from train, index 0 for unseen or missing (``_categorical.py``);
* text: bag-of-n-gram ids, or ordered token ids for sequence encoders (``_text.py``);
* tokens: a list of words per row, aligned to per-word labels (``_tokens.py``);
* image: arrays or image files standardised per channel (``_image.py``).

The label encodings of the tasks are learnt here too (each task type's ``fit``). Everything
learnt is JSON-ready state in ``model.json`` (nothing is pickled).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import torch

from manyheads._registry import did_you_mean
from manyheads.data._columns import COLUMN_ENCODERS
from manyheads.data._columns._image import is_image_cell
from manyheads.data._columns._text import TextColumn
from manyheads.data._columns._tokens import check_aligned
from manyheads.data._spec import InputSpec, SequenceSpec, combine_specs
from manyheads.data.images import is_image_path
from manyheads.data.sequence import SequenceTokenizer
from manyheads.data.tensors import EncodedTable
from manyheads.data.text import TextVocab
from manyheads.errors import DataError, InvalidParameterError, NotFittedError
from manyheads.tasks._base import UNSEEN_LABELS, missing_mask
from manyheads.tasks._fitted import FittedTask, fit_task
from manyheads.tasks.task import Task

__all__ = ["INPUT_KINDS", "InputSpec", "SequenceSpec", "TablePreprocessor", "infer_kind"]

#: The input kinds, one column encoder each (:data:`manyheads.data._columns.COLUMN_ENCODERS`).
INPUT_KINDS = tuple(COLUMN_ENCODERS)
#: The keys of :meth:`TablePreprocessor.to_dict` that hold the columns' states, in saved order.
SECTIONS = ("numeric", "categorical", "text", "image", "sequence")


def infer_kind(series: pd.Series) -> str:
    """Guess ``numeric``, ``categorical``, ``text`` or ``image`` for a column.

    A column whose cells are 2-D or 3-D numpy arrays, or lists of lists (JSONL), is ``image``;
    one whose cells are lists of strings is ``tokens``.

    Example:
        >>> infer_kind(pd.Series([1.5, 2.0, 3.25]))
        'numeric'
        >>> infer_kind(pd.Series(["red", "blue", "red"]))
        'categorical'
        >>> infer_kind(pd.Series([np.zeros((28, 28)), np.ones((28, 28))]))
        'image'
        >>> infer_kind(pd.Series([["EU", "rejects"], ["Peter"]]))
        'tokens'
    """
    if len(series) and is_image_path(series.iloc[0]):
        return "image"
    if series.dtype == object and len(series) and is_image_cell(series.iloc[0]):
        return "image"
    if series.dtype == object and len(series) and _is_token_cell(series.iloc[0]):
        return "tokens"
    values = series[~missing_mask(series)]
    if pd.api.types.is_bool_dtype(values.dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(values.dtype) or _all_numbers(values):
        return "numeric"
    text = values.astype(str)
    if text.empty:
        return "categorical"
    mean_words = float(text.str.split().str.len().mean())
    unique_share = text.nunique() / len(text)
    if mean_words >= 3.0 or (unique_share > 0.5 and len(text) > 50):
        return "text"
    return "categorical"


def _all_numbers(values: pd.Series) -> bool:
    """Whether every cell of an object or string column is read as a number by a numeric
    input, ``NaN`` / ``nan`` read as missing (docs/reliability.md, "Non-finite numbers"): a
    CSV column of numbers with ``NaN`` cells, or JSONL numbers mixed with ``"NaN"`` strings."""
    if not len(values) or values.map(lambda v: isinstance(v, bool)).any():
        return False
    raw = values.astype("string").str.strip()
    numbers = raw[~raw.str.lower().eq("nan")]
    return bool(len(numbers)) and bool(pd.to_numeric(numbers, errors="coerce").notna().all())


class TablePreprocessor:
    """Fits input encodings and task label states on train; encodes frames to tensors.

    Args:
        inputs: column -> kind (``numeric``, ``categorical``, ``text``, ``image``, ``tokens``).
        tasks: the tasks whose labels are encoded.
        text_options: ``{"mode": "bag", ...}`` (default) passes the other keys to
            :class:`TextVocab`; ``{"mode": "sequence", ...}`` passes them to
            :class:`SequenceTokenizer` (what sequence encoders ask for).
        unseen_labels: ``warn`` (a DataWarning; such rows or tokens count as wrong) or
            ``error`` for a class or tag that the training labels never had
            (``data.unseen_labels``).

    Raises:
        InvalidParameterError: for an ``unseen_labels`` or input kind that does not exist.

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
        text_options: dict[str, Any] | None = None,
        unseen_labels: str = "warn",
    ) -> None:
        if unseen_labels not in UNSEEN_LABELS:
            raise InvalidParameterError(
                f"The 'unseen_labels' setting must be one of {', '.join(UNSEEN_LABELS)}. "
                f"Got {unseen_labels!r}."
            )
        for col, kind in inputs.items():
            if kind not in COLUMN_ENCODERS:
                raise InvalidParameterError(
                    f"The input kind of column '{col}' must be one of {', '.join(INPUT_KINDS)}. "
                    f"Got {kind!r}.{did_you_mean(str(kind), list(INPUT_KINDS))}"
                )
        self.unseen_labels = unseen_labels
        self.inputs = dict(inputs)
        self.tasks = list(tasks)
        self.text_options = dict(text_options or {})
        #: one encoder per input column, of the class registered for its kind.
        self.column_encoders = [
            COLUMN_ENCODERS[kind](col, self.text_options) for col, kind in self.inputs.items()
        ]
        self.fitted_ = False
        self.task_states_: dict[str, dict[str, Any]] = {}

    # -- fitting -------------------------------------------------------------------------------
    def check_inputs(self, frame: pd.DataFrame) -> None:
        """Raise the DataError :meth:`fit` would raise for a bad input cell of ``frame``.

        A multi-source run checks each source on its own first, so that the message names the
        source's file and line rather than the stacked frame.
        """
        path = str(frame.attrs.get("path", "<train>"))
        self._check_columns(frame, path)
        for column in self.column_encoders:
            column.check(frame, path)

    def fit(
        self, frame: pd.DataFrame, *, task_frames: dict[str, pd.DataFrame] | None = None
    ) -> TablePreprocessor:
        """Learn statistics, vocabularies and label states from the training frame.

        Args:
            frame: the training rows.
            task_frames: task name -> the rows its label state is learnt from (a multi-source
                run passes each task its own source, so label errors name that file).
        """
        path = str(frame.attrs.get("path", "<train>"))
        self._check_columns(frame, path)
        for column in self.column_encoders:
            column.fit(frame, path)
        self.fitted_ = True
        for task in self.tasks:
            rows = (task_frames or {}).get(task.name, frame)
            where = str(rows.attrs.get("path", path))
            self.task_states_[task.name] = fit_task(task, rows, where).state
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
        if not self.fitted_:
            raise NotFittedError("TablePreprocessor.transform called before fit().")
        path = str(frame.attrs.get("path", "<data>"))
        self._check_columns(frame, path)
        x = self._encode_inputs(frame, path)
        y: dict[str, torch.Tensor] = {}
        mask: dict[str, torch.Tensor] = {}
        for fitted in self.fitted_tasks if labels else []:
            name = fitted.name
            y[name], mask[name] = fitted.encode(frame, path, unseen=self.unseen_labels)
            if fitted.task_type.level == "token":
                check_aligned(fitted.task, frame, path, self.inputs, x, mask[name])
        return EncodedTable(x=x, y=y, mask=mask, n_rows=len(frame))

    def _encode_inputs(self, frame: pd.DataFrame, path: str) -> dict[str, torch.Tensor]:
        """Every column's tensors, in the order of their stages; a key that several columns
        fill (``num``, ``cat``) is their tensors side by side ``[N, sum of widths]``."""
        parts: dict[str, list[torch.Tensor]] = {}
        for column in sorted(self.column_encoders, key=lambda c: c.stage):
            for key, tensor in column.transform(frame, path).items():
                parts.setdefault(key, []).append(tensor)
        return {k: v[0] if len(v) == 1 else torch.cat(v, dim=1) for k, v in parts.items()}

    # -- metadata ------------------------------------------------------------------------------
    @property
    def fitted_tasks(self) -> list[FittedTask]:
        """Each task with its label state (:attr:`task_states_`), in the order of ``tasks``."""
        return self.fitted(self.tasks)

    def fitted(self, tasks: Iterable[Task]) -> list[FittedTask]:
        """Each of ``tasks`` (some or all of the fitted ones, in the order given) with the label
        state that :meth:`fit` learnt for it."""
        return [FittedTask(task, self.task_states_[task.name]) for task in tasks]

    @property
    def spec(self) -> InputSpec:
        """The sizes the model's input layer needs."""
        if not self.fitted_:
            raise NotFittedError("TablePreprocessor.spec needs fit() first.")
        return combine_specs(column.spec() for column in self.column_encoders)

    def _section(self, section: str) -> dict[str, Any]:
        """Column -> its encoder's saved form, for the columns saved under ``section``."""
        return {c.column: c.to_dict() for c in self.column_encoders if c.section == section}

    @property
    def numeric_(self) -> dict[str, dict[str, float | bool]] | None:
        """Column -> ``{"mean", "std", "indicator"}`` of the numeric columns (None unfitted)."""
        return self._section("numeric") if self.fitted_ else None

    @property
    def categorical_(self) -> dict[str, list[str]]:
        """Column -> sorted train values of the categorical columns."""
        return self._section("categorical")

    @property
    def image_(self) -> dict[str, dict[str, list[float] | list[int]]]:
        """Column -> ``{"shape", "mean", "std"}`` of the image columns."""
        return self._section("image")

    @property
    def text_(self) -> dict[str, TextVocab]:
        """Column -> the bag-of-n-grams vocabulary of each text/tokens column (bag mode)."""
        return {c.column: c.vocab_ for c in self._text_columns() if c.vocab_ is not None}

    @property
    def sequence_(self) -> dict[str, SequenceTokenizer]:
        """Column -> the tokenizer of each text/tokens column (sequence mode)."""
        return {c.column: c.tokenizer_ for c in self._text_columns() if c.tokenizer_ is not None}

    def _text_columns(self) -> list[TextColumn]:
        return [c for c in self.column_encoders if isinstance(c, TextColumn)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state: everything prediction needs to encode raw rows."""
        extra = [c.section for c in self.column_encoders if c.section not in SECTIONS]
        sections: dict[str, Any] = {s: self._section(s) for s in (*SECTIONS, *dict.fromkeys(extra))}
        if not self.fitted_:
            sections["numeric"] = None
        return {
            "inputs": self.inputs,
            **sections,
            "task_states": self.task_states_,
            "text_options": self.text_options,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], tasks: list[Task]) -> TablePreprocessor:
        """Inverse of :meth:`to_dict` (a section absent from older bundles is empty)."""
        pre = cls(data["inputs"], tasks, text_options=data.get("text_options"))
        for column in pre.column_encoders:
            column.load(data.get(column.section, {})[column.column])
        pre.fitted_ = data["numeric"] is not None
        pre.task_states_ = data["task_states"]
        return pre


def _is_token_cell(cell: object) -> bool:
    if isinstance(cell, np.ndarray) and cell.ndim == 1:  # Parquet lists arrive as arrays
        cell = cell.tolist()
    return isinstance(cell, list) and all(isinstance(w, str) for w in cell)
