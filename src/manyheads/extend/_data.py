"""The new task's data: the run's input columns must be there (its fitted input encoders are
reused as they are), the new label column too; only the new task's label encoding is fitted,
on the new training rows."""

from __future__ import annotations

import pandas as pd

from manyheads.data.preprocess import TablePreprocessor
from manyheads.data.tensors import EncodedTable
from manyheads.errors import DataError, InvalidParameterError
from manyheads.tasks._fitted import FittedTask
from manyheads.tasks.task import Task

__all__ = ["check_new_data", "check_new_task", "encode_new", "with_task"]


def check_new_task(task: Task, tasks: list[Task], inputs: dict[str, str]) -> None:
    """Refuse a task name the run has, and a label column that is one of its inputs.

    Raises:
        InvalidParameterError: naming the task and the fix.
    """
    names = [t.name for t in tasks]
    if task.name in names:
        raise InvalidParameterError(
            f"The run already has a task named '{task.name}' (its tasks: {', '.join(names)}). "
            "Give the new task another name (--task NAME:TYPE)."
        )
    leaked = [c for c in task.label_columns if c in inputs]
    if leaked:
        raise InvalidParameterError(
            f"Column '{leaked[0]}' is the label of the new task '{task.name}' and an input of "
            "the run: its encoders read it, so the label would leak. Pick another label column."
        )


def check_new_data(frame: pd.DataFrame, task: Task, inputs: dict[str, str]) -> None:
    """Every input column of the run and every label column of ``task`` is in ``frame``.

    Raises:
        DataError: naming the file and every missing column.
    """
    path = str(frame.attrs.get("path", "<data>"))
    present = {str(c) for c in frame.columns}
    missing = [c for c in inputs if c not in present]
    if missing:
        raise DataError(
            f"the input column(s) {', '.join(repr(c) for c in missing)} of the run are missing. "
            "add-task reuses the run's fitted input encoders, so the new data must hold every "
            f"column the run was trained on ({', '.join(inputs)}).",
            path=path,
        )
    labels = [c for c in task.label_columns if c not in present]
    if labels:
        raise DataError(
            f"the label column '{labels[0]}' of the new task '{task.name}' is missing. Columns "
            f"present: {', '.join(map(str, frame.columns[:30]))}. Add it, or name the column "
            f"with task.{task.name}.column=NAME.",
            path=path,
            column=labels[0],
        )


def with_task(pre: TablePreprocessor, fitted: FittedTask) -> TablePreprocessor:
    """A copy of ``pre`` (the same fitted input encoders) with ``fitted``'s label state added."""
    state = pre.to_dict()
    state["task_states"] = {**state["task_states"], fitted.name: fitted.state}
    grown = TablePreprocessor.from_dict(state, [*pre.tasks, fitted.task])
    grown.unseen_labels = pre.unseen_labels
    return grown


def encode_new(
    pre: TablePreprocessor, frame: pd.DataFrame, tasks: list[FittedTask]
) -> EncodedTable:
    """The inputs of ``frame`` and the labels of ``tasks`` only (the new data lacks the old
    tasks' labels)."""
    path = str(frame.attrs.get("path", "<data>"))
    table = pre.transform(frame, labels=False)
    y, mask = {}, {}
    for t in tasks:
        y[t.name], mask[t.name] = t.encode(frame, path, unseen=pre.unseen_labels)
    return EncodedTable(x=table.x, y=y, mask=mask, n_rows=table.n_rows)
