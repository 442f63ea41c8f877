"""``tokens`` columns: a list of words per row (JSONL lists, CoNLL word columns).

Encoded as text (a string cell is split into words), plus, in sequence mode, ``x["first:<col>"]``
and ``x["wmask:<col>"]`` ``[N, W]`` that align sub-word pieces to words, for one-label-per-word
(``tagging``) tasks: :func:`check_aligned` checks that each row has one label per word.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from torch import Tensor

from manyheads.data._columns._base import ColumnExample
from manyheads.data._columns._text import TextColumn
from manyheads.errors import DataError
from manyheads.tasks._base import first_line
from manyheads.tasks.task import Task

__all__ = ["TokensColumn", "check_aligned"]


class TokensColumn(TextColumn):
    """Encode one column of word lists; see :class:`TextColumn` for the two encodings.

    Example:
        >>> col = TokensColumn("w", {"mode": "sequence", "vocab_size": 40, "min_count": 1})
        >>> col.fit(pd.DataFrame({"w": [["EU", "rejects"], ["Peter"]]}), "<train>")
        >>> col.transform(pd.DataFrame({"w": [["Peter", "rejects"]]}), "<test>")["wmask:w"]
        tensor([[True, True]])
    """

    kind: ClassVar[str] = "tokens"
    words: ClassVar[bool] = True
    example = ColumnExample(
        train=(["EU", "rejects"], ["Peter"], ["a", "b", "c"], ["x", "EU"]), unseen=(["zebra", "!"],)
    )


def check_aligned(
    task: Task,
    frame: pd.DataFrame,
    path: str,
    inputs: dict[str, str],
    x: dict[str, Tensor],
    mask: Tensor,
) -> None:
    """A per-token task needs exactly one word per label, row by row.

    Args:
        task: the per-token task.
        frame: the encoded rows (its index gives the lines).
        path: the frame's file.
        inputs: column -> input kind of the preprocessor.
        x: the encoded inputs.
        mask: the task's label mask ``[N, W]``.

    Raises:
        DataError: without exactly one ``tokens`` input in sequence mode, or for the first
            row whose number of tags differs from its number of words.
    """
    token_cols = [c for c, k in inputs.items() if k == "tokens"]
    if len(token_cols) != 1 or f"wmask:{token_cols[0]}" not in x:
        raise DataError(
            f"task '{task.name}' has one label per token: it needs exactly one 'tokens' "
            f"input read by a sequence encoder (inputs: {inputs}).",
            path=path,
        )
    col = token_cols[0]
    n_words = x[f"wmask:{col}"].sum(dim=1)
    n_tags = mask.sum(dim=1) if mask.dim() == 2 else mask.long()
    bad = (mask.reshape(len(mask), -1).any(dim=1) & (n_tags != n_words)).numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{int(n_words[i])} tokens in '{col}' but {int(n_tags[i])} tags in "
            f"'{task.label_columns[0]}' (task '{task.name}'): every token needs exactly one "
            "tag. Fix the row or drop it.",
            path=path,
            line=first_line(frame, bad),
            column=task.label_columns[0],
        )
