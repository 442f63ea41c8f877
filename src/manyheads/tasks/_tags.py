"""Reading the tag cells of a tagging task and checking them against its chunk scheme.

A label cell is the list of a row's tags (a JSONL list, a CoNLL tag column; a string cell is split
on whitespace); a missing or empty cell is an unlabelled row. See :mod:`manyheads.tasks._tagging`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from manyheads.tasks._base import column_of, label_error
from manyheads.tasks.task import Task

__all__ = ["PREFIXES", "check_scheme", "tag_rows"]

#: canonical chunk scheme -> the prefixes its tags may carry (besides the ``O`` tag).
PREFIXES = {"bio": ("B-", "I-"), "bioes": ("B-", "I-", "E-", "S-")}


def tag_rows(task: Task, frame: pd.DataFrame, path: str) -> list[list[str] | None]:
    """Each cell of ``task``'s label column as a list of tag strings; None for a missing
    (unlabelled) cell.

    A list/tuple/array cell is taken as is (integer tags become their decimal string), a string
    cell is split on whitespace; an empty cell or list is unlabelled.

    Example:
        >>> frame = pd.DataFrame({"y": [["B-PER", "O"], "NOUN VERB", None, []]})
        >>> tag_rows(Task("y", type="tagging"), frame, "f.jsonl")
        [['B-PER', 'O'], ['NOUN', 'VERB'], None, None]
    """
    series = column_of(task, frame, path)
    rows: list[list[str] | None] = []
    for position, cell in enumerate(series.tolist()):
        row = _tag_cell(cell)
        if isinstance(row, str):
            message = (
                "expected a list of tags (one per token) or a string of space-separated tags; "
                f"got {row}. Fix the row."
            )
            raise label_error(task, message, frame, path, np.arange(len(series)) == position)
        rows.append(row if row else None)
    return rows


def _tag_cell(cell: object) -> list[str] | str | None:
    """The tags of one cell, None when missing, or a string describing what is wrong."""
    if isinstance(cell, str):
        return cell.split()
    if isinstance(cell, list | tuple | np.ndarray):
        tags = []
        for value in cell:
            if isinstance(value, str) and value.strip():
                tags.append(value.strip())
            elif isinstance(value, int | np.integer) and not isinstance(value, bool):
                tags.append(str(int(value)))
            else:
                return f"a list holding {value!r} of type {type(value).__name__}"
        return tags
    if cell is None or (isinstance(cell, float) and np.isnan(cell)) or cell is pd.NA:
        return None
    return f"{cell!r} of type {type(cell).__name__}"


def check_scheme(
    task: Task, scheme: str, rows: list[list[str] | None], frame: pd.DataFrame, path: str
) -> None:
    """Every tag is ``O`` or ``<prefix>-<type>`` with a prefix of the scheme."""
    prefixes = PREFIXES[scheme]
    for i, row in enumerate(rows):
        bad = [t for t in row or () if t != "O" and not (t[:2] in prefixes and len(t) > 2)]
        if bad:
            message = (
                f"tag '{bad[0]}' of task '{task.name}' does not fit its scheme '{task.scheme}': "
                f"expected O or {', '.join(p + 'TYPE' for p in prefixes)}. Fix the tag, or set "
                "the task's 'scheme' to the file's scheme (none for tags without chunks)."
            )
            raise label_error(task, message, frame, path, np.arange(len(rows)) == i)
