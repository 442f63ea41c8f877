"""The contract of a column encoder: the encoding of one input column, learnt on train.

One class per input kind (``numeric``, ``categorical``, ``text``, ``tokens``, ``image``), each
in its own module of this package and registered by kind in :data:`COLUMN_ENCODERS
<manyheads.data._columns.COLUMN_ENCODERS>`. :class:`~manyheads.data.preprocess.TablePreprocessor`
holds one encoder per input column and loops over them; adding an input kind is one module plus
one line in that table (docs/extending.md, "Adding an input kind").
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import pandas as pd
from torch import Tensor

from manyheads.data._spec import InputSpec
from manyheads.errors import NotFittedError

__all__ = ["ColumnEncoder", "ColumnExample"]

#: The JSON-ready state of one column (its kind's own shape).
StateT = TypeVar("StateT")


@dataclass(frozen=True)
class ColumnExample:
    """Cells of an input kind that the contract battery encodes (``tests/contract/
    test_input_kinds.py``: fit, transform, save and load, unseen and missing cells).

    Attributes:
        train: the cells to fit on.
        unseen: cells unlike any training cell (a new category, unknown words, far values).
        refuses_missing: True when a missing cell is a DataError naming it (images); False
            when it is encoded as an empty cell is.
    """

    train: tuple[object, ...]
    unseen: tuple[object, ...]
    refuses_missing: bool = False


class ColumnEncoder(ABC, Generic[StateT]):
    """Learns the encoding of one input column on train and applies it to any split.

    Args:
        column: the input column.
        text_options: the preprocessor's ``text_options`` (only text-like kinds read them).

    Subclasses set :attr:`kind`, :attr:`section` (the key of ``TablePreprocessor.to_dict``
    under which the column's state is saved) and :attr:`stage` (the order in which the
    encoders fill the batch: numeric first, then categorical, text, sequences, images).
    """

    kind: ClassVar[str]
    #: cells every registered kind is tested on (docs/extending.md).
    example: ClassVar[ColumnExample]
    section: str
    stage: int

    def __init__(self, column: str, text_options: dict[str, Any]) -> None:
        del text_options
        self.column = column
        self.state_: StateT | None = None

    def check(self, frame: pd.DataFrame, path: str) -> None:
        """Raise the DataError :meth:`fit` would raise for a bad cell of ``frame``."""
        del frame, path

    @abstractmethod
    def fit(self, frame: pd.DataFrame, path: str) -> None:
        """Learn the column's statistics or vocabulary from the training rows."""

    @abstractmethod
    def transform(self, frame: pd.DataFrame, path: str) -> dict[str, Tensor]:
        """The column's tensors by batch key; keys shared by columns (``num``, ``cat``) are
        joined along the feature dimension by the preprocessor."""

    def to_dict(self) -> StateT | None:
        """The JSON-ready state saved under :attr:`section` for this column."""
        return self.state_

    def load(self, state: StateT) -> None:
        """Restore the state written by :meth:`to_dict`."""
        self.state_ = state

    @abstractmethod
    def spec(self) -> InputSpec:
        """The part of the input layer's :class:`InputSpec` this column adds."""

    def fitted_state(self, what: str) -> StateT:
        """The state learnt by :meth:`fit`, or a NotFittedError saying what needed it."""
        if self.state_ is None:
            raise self._not_fitted(what)
        return self.state_

    def _not_fitted(self, what: str) -> NotFittedError:
        return NotFittedError(f"The {self.kind} column '{self.column}' needs fit() before {what}.")
