"""One column encoder per input kind, registered by kind (docs/extending.md, "Adding an input
kind"). :class:`~manyheads.data.preprocess.TablePreprocessor` builds one per input column."""

from typing import Any

from manyheads.data._columns._base import ColumnEncoder, ColumnExample
from manyheads.data._columns._categorical import CategoricalColumn
from manyheads.data._columns._image import ImageColumn
from manyheads.data._columns._numeric import NumericColumn
from manyheads.data._columns._text import TextColumn
from manyheads.data._columns._tokens import TokensColumn

__all__ = ["COLUMN_ENCODERS", "ColumnEncoder", "ColumnExample"]

#: input kind -> its column encoder; the order is the order of :data:`INPUT_KINDS
#: <manyheads.data.preprocess.INPUT_KINDS>` in messages and docs.
COLUMN_ENCODERS: dict[str, type[ColumnEncoder[Any]]] = {
    "numeric": NumericColumn,
    "categorical": CategoricalColumn,
    "text": TextColumn,
    "image": ImageColumn,
    "tokens": TokensColumn,
}
