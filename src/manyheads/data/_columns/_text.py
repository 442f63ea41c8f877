"""``text`` columns: free text as bag-of-n-gram ids or as ordered token ids.

The preprocessor's ``text_options`` choose the encoding: ``{"mode": "bag", ...}`` (the default)
passes the other keys to :class:`~manyheads.data.text.TextVocab` (word + hashed bigram ids,
0-padded) for the tabular encoder, saved under ``text``; ``{"mode": "sequence", ...}`` passes
them to :class:`~manyheads.data.sequence.SequenceTokenizer` (what sequence encoders ask for),
giving ``x["ids:<col>"]`` and ``x["attn:<col>"]``, saved under ``sequence``.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from manyheads.data._columns._base import ColumnEncoder, ColumnExample
from manyheads.data._spec import InputSpec, SequenceSpec
from manyheads.data.sequence import SequenceTokenizer
from manyheads.data.text import TextVocab
from manyheads.errors import DataError, DataWarning
from manyheads.tasks._base import first_line

__all__ = ["TextColumn", "text_rows"]


class TextColumn(ColumnEncoder[dict[str, Any]]):
    """Encode one text column with a :class:`TextVocab` or a :class:`SequenceTokenizer`.

    Example:
        >>> col = TextColumn("t", {"min_count": 1})
        >>> col.fit(pd.DataFrame({"t": ["red dress", "blue hat"]}), "<train>")
        >>> col.section, col.transform(pd.DataFrame({"t": ["red hat"]}), "<test>")["text:t"].shape
        ('text', torch.Size([1, 3]))
    """

    kind: ClassVar[str] = "text"
    #: True for word lists (``tokens``): rows stay lists and sequences align pieces to words.
    words: ClassVar[bool] = False
    stage = 2
    example = ColumnExample(
        train=("a red dress", "blue hat", "a hat", "red red hat"), unseen=("zebra stripes!",)
    )
    vocab_: TextVocab | None = None
    tokenizer_: SequenceTokenizer | None = None

    def __init__(self, column: str, text_options: dict[str, Any]) -> None:
        super().__init__(column, text_options)
        self.sequence = text_options.get("mode") == "sequence"
        self.options = {k: v for k, v in text_options.items() if k != "mode"}
        self.section = "sequence" if self.sequence else "text"
        self.stage = 3 if self.sequence else 2

    def check(self, frame: pd.DataFrame, path: str) -> None:
        """Read the cells (a DataError names a list cell where a string is expected)."""
        text_rows(frame, self.column, path, words=self.words)

    def fit(self, frame: pd.DataFrame, path: str) -> None:
        """Train the vocabulary or tokenizer on the training rows."""
        rows = text_rows(frame, self.column, path, words=self.words)
        if self.sequence:
            self.tokenizer_ = SequenceTokenizer(**self.options).fit(rows, words=self.words)
        else:
            self.vocab_ = TextVocab(**self.options).fit(_joined(rows))

    def transform(self, frame: pd.DataFrame, path: str) -> dict[str, Tensor]:
        """``text:<col>`` ids, or ``ids:<col>`` and ``attn:<col>`` (plus ``first:<col>`` and
        ``wmask:<col>`` for word lists) in sequence mode."""
        rows = text_rows(frame, self.column, path, words=self.words)
        if self.vocab_ is not None:
            return {f"text:{self.column}": torch.from_numpy(self.vocab_.encode(_joined(rows)))}
        if self.tokenizer_ is None:
            raise self._not_fitted("transform")
        enc = self.tokenizer_.encode(rows, words=self.words)
        x = {
            f"ids:{self.column}": torch.from_numpy(enc.ids),
            f"attn:{self.column}": torch.from_numpy(enc.attn),
        }
        if enc.first is not None and enc.wmask is not None:
            x[f"first:{self.column}"] = torch.from_numpy(enc.first)
            x[f"wmask:{self.column}"] = torch.from_numpy(enc.wmask)
        if enc.cut is not None and enc.cut.any():
            _warn_cut(path, self.column, enc.cut, self.tokenizer_.max_length)
        return x

    def to_dict(self) -> dict[str, Any]:
        """The vocabulary's or tokenizer's own ``to_dict``."""
        if self.vocab_ is not None:
            return self.vocab_.to_dict()
        if self.tokenizer_ is None:
            raise self._not_fitted("to_dict")
        return self.tokenizer_.to_dict()

    def load(self, state: dict[str, Any]) -> None:
        """Restore :meth:`to_dict` (its section says which of the two it holds)."""
        if self.sequence:
            self.tokenizer_ = SequenceTokenizer.from_dict(state)
        else:
            self.vocab_ = TextVocab.from_dict(state)

    def spec(self) -> InputSpec:
        """``(column, n_ids)`` in ``text_sizes``, or ``(column, SequenceSpec)`` in
        ``sequences``."""
        if self.vocab_ is not None:
            return InputSpec(0, (), ((self.column, self.vocab_.n_ids),))
        tok = self.tokenizer_
        if tok is None:
            raise self._not_fitted("spec")
        seq = SequenceSpec(
            n_ids=tok.n_ids,
            pad_id=tok.pad_id_,
            words=self.words,
            max_length=tok.max_length,
            tokenizer=tok.tokenizer,
            path=tok.path,
        )
        return InputSpec(0, (), (), sequences=((self.column, seq),))


def _joined(rows: list[str | list[str]]) -> list[str]:
    """Rows as strings for the bag encoding (a word list is joined by spaces)."""
    return [r if isinstance(r, str) else " ".join(r) for r in rows]


def text_rows(frame: pd.DataFrame, col: str, path: str, *, words: bool) -> list[str | list[str]]:
    """Cells of a text/tokens column: strings, or word lists for ``tokens`` (a string cell is
    kept as a string and split into words by the tokenizer; a missing cell is empty)."""
    out: list[str | list[str]] = []
    for position, cell in enumerate(frame[col].tolist()):
        if isinstance(cell, np.ndarray) and cell.ndim == 1:
            cell = cell.tolist()
        if isinstance(cell, list):
            if not words or not all(isinstance(w, str | int | float) for w in cell):
                kind = "tokens" if words else "text"
                raise DataError(
                    f"{kind} input expected a string{' or a list of words' if words else ''}; "
                    f"got a list {str(cell)[:60]}. Declare the column as 'tokens' for word "
                    "lists, or fix the cell.",
                    path=path,
                    line=first_line(frame, np.arange(len(frame)) == position),
                    column=col,
                )
            out.append([str(w) for w in cell])
        elif cell is None or (isinstance(cell, float) and np.isnan(cell)):
            out.append([] if words else "")
        else:
            out.append(str(cell))
    return out


def _warn_cut(path: str, col: str, cut: np.ndarray, max_length: int) -> None:
    """Say how many words lost every piece to ``max_length`` (they still count in metrics)."""
    rows = int((cut > 0).sum())
    warnings.warn(
        f"{path}: column '{col}': {int(cut.sum())} words in {rows} of {len(cut)} rows come "
        f"after the first {max_length} pieces (model.encoder_options.max_length), so they have "
        "no piece of their own: every encoder predicts them from its output at the row's first "
        "position (the [CLS] start marker), which says nothing about the word, and their labels "
        "still count in the metrics. Raise max_length to keep them (bilstm and cnn have no "
        "position limit; transformer and pretrained ones allow at most their positions).",
        DataWarning,
        stacklevel=5,  # the caller of TablePreprocessor.transform
    )
