"""The contract of a baseline, and the table of input columns every baseline reads.

A baseline turns the input columns of a table into features (:meth:`Baseline.fit_inputs`,
:meth:`Baseline.features`) and gives a fresh scikit-learn model per task
(:meth:`Baseline.classifier`, :meth:`Baseline.regressor`);
:func:`~manyheads.baselines.fit_baselines` trains one per task and scores it with the task type's
own ``score``. Cells are read as the neural models read them (the same parsers): numbers with
missing cells as NaN, categories as canonical strings with missing cells as NaN, text as
strings (an empty string when missing). Baselines read tables only: ``tokens`` and ``image``
inputs are refused.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Protocol

import numpy as np
import pandas as pd

from manyheads._registry import did_you_mean
from manyheads.data._columns import COLUMN_ENCODERS
from manyheads.data._columns._numeric import numeric_values
from manyheads.data._columns._text import text_rows
from manyheads.errors import DataError, InvalidParameterError, NotFittedError
from manyheads.tasks._base import label_strings, missing_mask

__all__ = ["TABLE_KINDS", "Baseline", "Classifier", "Regressor", "check_inputs", "table_inputs"]

#: The input kinds a baseline reads; the others (``tokens``, ``image``) are refused.
TABLE_KINDS = ("numeric", "categorical", "text")


class Regressor(Protocol):
    """What the fitting code uses of a scikit-learn regressor (or pipeline ending in one)."""

    def fit(self, x: pd.DataFrame, y: np.ndarray, /) -> object:
        """Learn from the features ``x`` and the targets ``y``."""

    def predict(self, x: pd.DataFrame, /) -> np.ndarray:
        """Predicted values ``[N]``."""


class Classifier(Regressor, Protocol):
    """A scikit-learn classifier: also its classes and its decision function (logits)."""

    classes_: np.ndarray

    def decision_function(self, x: pd.DataFrame, /) -> np.ndarray:
        """The log-odds ``[N]`` of a binary model, or one score per class ``[N, C]``."""


def check_inputs(baseline: str, inputs: dict[str, str]) -> None:
    """Refuse inputs that ``baseline`` cannot read: none at all, an unknown kind, or a
    ``tokens``/``image`` column (baselines read tables only).

    Example:
        >>> check_inputs("gbdt", {"photo": "image"})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        manyheads.errors.InvalidParameterError: The gbdt baseline reads tables only ...
    """
    if not inputs:
        raise InvalidParameterError(
            f"The {baseline} baseline needs at least one input column. Got no inputs."
        )
    kinds = list(COLUMN_ENCODERS)
    for column, kind in inputs.items():
        if kind not in kinds:
            raise InvalidParameterError(
                f"The input kind of column '{column}' must be one of {', '.join(kinds)}. "
                f"Got {kind!r}.{did_you_mean(str(kind), kinds)}"
            )
        if kind not in TABLE_KINDS:
            raise InvalidParameterError(
                f"The {baseline} baseline reads tables only ({', '.join(TABLE_KINDS)} columns), "
                f"and column '{column}' is a {kind} input. Leave the {baseline} baseline out "
                f"of the comparison, or drop '{column}' from the inputs."
            )


def table_inputs(frame: pd.DataFrame, inputs: dict[str, str], path: str) -> pd.DataFrame:
    """The input columns of ``frame``: floats (NaN where missing) for ``numeric``, canonical
    strings (NaN where missing) for ``categorical``, strings for ``text``.

    Raises:
        DataError: an input column is missing, or a numeric cell is not a finite number.

    Example:
        >>> frame = pd.DataFrame({"x": [1.5, None], "c": [1, None], "t": ["a b", None]})
        >>> table = table_inputs(frame, {"x": "numeric", "c": "categorical", "t": "text"}, "f")
        >>> table.to_dict("list")
        {'x': [1.5, nan], 'c': ['1', nan], 't': ['a b', '']}
    """
    absent = [c for c in inputs if c not in frame.columns]
    if absent:
        raise DataError(
            f"the input column '{absent[0]}' is missing. Columns present: "
            f"{', '.join(map(str, frame.columns[:30]))}.",
            path=path,
        )
    columns: dict[str, np.ndarray] = {}
    for column, kind in inputs.items():
        if kind == "numeric":
            values, missing = numeric_values(frame, column, path)
            columns[column] = np.where(missing, np.nan, values)
        elif kind == "categorical":
            series = frame[column]
            strings = label_strings(series).to_numpy(dtype=object)
            columns[column] = np.where(missing_mask(series), np.nan, strings)
        else:
            columns[column] = np.asarray(text_rows(frame, column, path, words=False), dtype=object)
    return pd.DataFrame(columns, index=frame.index)


class Baseline(ABC):
    """One kind of baseline: the features it reads and the model it trains per task.

    Args:
        seed: the seed of every random choice (passed to the models that take one).

    Subclasses set :attr:`name`, build their models in :meth:`classifier` and
    :meth:`regressor`, and may learn on train what their features need (:meth:`_fit_table`)
    and turn the table into features (:meth:`_transform`).
    """

    name: ClassVar[str]

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = seed
        self.inputs_: dict[str, str] | None = None

    def fit_inputs(self, frame: pd.DataFrame, inputs: dict[str, str], path: str) -> None:
        """Check ``inputs`` and learn what the features need from the training rows."""
        check_inputs(self.name, inputs)
        self.inputs_ = dict(inputs)
        self._fit_table(table_inputs(frame, inputs, path))

    def features(self, frame: pd.DataFrame, path: str) -> pd.DataFrame:
        """The features of the rows of ``frame`` (any split), as the models read them."""
        return self._transform(table_inputs(frame, self.fitted_inputs, path))

    @property
    def fitted_inputs(self) -> dict[str, str]:
        """Column -> input kind, as given to :meth:`fit_inputs`."""
        if self.inputs_ is None:
            raise NotFittedError(f"The {self.name} baseline needs fit_inputs() first.")
        return self.inputs_

    def columns(self, kind: str) -> list[str]:
        """The input columns of ``kind``, in the order of the inputs."""
        return [c for c, k in self.fitted_inputs.items() if k == kind]

    def _fit_table(self, table: pd.DataFrame) -> None:
        """Learn from the training table what :meth:`_transform` needs (default: nothing)."""
        del table

    def _transform(self, table: pd.DataFrame) -> pd.DataFrame:
        """The table as the models read it (default: as it is)."""
        return table

    def check_target(self, task: str, y: np.ndarray) -> None:
        """Refuse class labels ``y`` (of ``task``) that the classifier cannot learn from."""
        del task, y

    @abstractmethod
    def classifier(self) -> Classifier:
        """A fresh, unfitted model of a binary or multiclass target."""

    @abstractmethod
    def regressor(self) -> Regressor:
        """A fresh, unfitted model of a real-valued target."""

    @abstractmethod
    def describe(self) -> str:
        """The models and their settings in one line, with what was left out of the inputs."""

    def summary(self, model: Regressor) -> str:
        """One fitted model in a few words (the name of its class by default)."""
        return type(model).__name__
