"""Labels the training data never had: warn about them or refuse them, in one message.

``encode`` of the types with a label vocabulary (classes, tags) collects the unseen labels of a
frame as an :class:`Unseen` and hands them to :func:`unseen_labels`; the ``data.unseen_labels``
setting (:data:`~manyheads.tasks._base.UNSEEN_LABELS`, docs/config.md) picks the mode.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from manyheads.errors import DataError, DataWarning
from manyheads.tasks._base import first_line
from manyheads.tasks.task import Task

__all__ = ["Unseen", "unseen_labels"]


@dataclass(frozen=True)
class Unseen:
    """The labels of an encoded frame that the training data never had.

    Attributes:
        labels: every unseen label occurrence (one entry per row or token).
        rows: bool ``[N]``, the rows of the frame that hold one.
    """

    labels: list[str]
    rows: np.ndarray


def unseen_labels(
    task: Task,
    found: Unseen,
    frame: pd.DataFrame,
    path: str,
    *,
    known: list[str],
    word: str,
    unit: str,
    mode: str,
) -> None:
    """Warn about (``mode`` ``warn``) or refuse (``error``) labels the training data never had.

    Args:
        task: the task whose labels are encoded.
        found: the unseen label occurrences and the rows that hold them.
        frame: the encoded frame (its index gives the lines).
        path: the frame's file.
        known: the labels of the training data.
        word: ``class`` or ``tag``; ``unit``: ``rows`` or ``tokens``.
        mode: one of :data:`UNSEEN_LABELS`.

    Raises:
        DataError: with ``mode`` ``error``, naming the file, first line, column and label.

    Example:
        >>> frame = pd.DataFrame({"y": ["a", "z"]}, index=[2, 3])
        >>> try:
        ...     unseen_labels(Task("y", type="multiclass"), Unseen(["z"], np.array([False, True])),
        ...                   frame, "test.csv", known=["a", "b"], word="class", unit="rows",
        ...                   mode="error")
        ... except DataError as exc:
        ...     print(str(exc)[:87])
        test.csv, line 3, column 'y': class 'z' of task 'y' was never seen in the training data
    """
    labels, rows = found.labels, found.rows
    if not labels:
        return
    counts = Counter(labels).most_common()
    shown = ", ".join(known[:30]) + (", ..." if len(known) > 30 else "")
    line, column = first_line(frame, rows), task.label_columns[0]
    words = word + ("es" if word.endswith("s") else "s")
    if mode == "error":
        others = (
            f"; {len(labels)} {unit} carry unseen {words}: "
            + ", ".join(f"'{label}' ({n})" for label, n in counts[:10])
            if len(labels) > 1
            else ""
        )
        raise DataError(
            f"{word} '{labels[0]}' of task '{task.name}' was never seen in the training data "
            f"(known {words}: {shown}{others}). Add rows with "
            f"it to the training data, fix or clear the cell, or set data.unseen_labels: warn "
            f"to score such {unit} as wrong.",
            path=path,
            line=line,
            column=column,
        )
    message = (
        f"{len(labels)} {unit if len(labels) > 1 else unit[:-1]} of task '{task.name}' "
        f"{'carry' if len(labels) > 1 else 'carries'} {words} never seen in the training "
        "data: "
        + ", ".join(f"'{label}' ({n})" for label, n in counts[:10])
        + (f" and {len(counts) - 10} more" if len(counts) > 10 else "")
        + f". They count as wrong in the metrics (the model cannot predict a {word} it never "
        "saw) and are left out of the loss. Set data.unseen_labels: error to refuse such data."
    )
    located = DataError(message, path=path, line=line, column=column)
    warnings.warn(str(located), DataWarning, stacklevel=4)
