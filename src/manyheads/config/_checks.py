"""The checks that tie sections together, each written once: a label used as an input, the
monitored metric, and the tasks of each source. The config reports them all at once; the
workflow (:func:`manyheads.fit`) raises on the first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from manyheads._registry import did_you_mean

if TYPE_CHECKING:
    from manyheads.config.schema import DataConfig
    from manyheads.tasks.task import Task

__all__ = ["cross_problems", "leaked_labels", "monitor_problem", "source_task_problems"]


def leaked_labels(tasks: Sequence[Task], inputs: dict[str, str] | None) -> list[tuple[str, str]]:
    """``(column, task name)`` for each label column that is also an input (it would leak the
    label into the model).

    Example:
        >>> from manyheads.tasks import Task
        >>> leaked_labels([Task("y", type="binary")], {"x": "numeric", "y": "numeric"})
        [('y', 'y')]
    """
    if not inputs:
        return []
    return [(col, t.name) for t in tasks for col in t.label_columns if col in inputs]


def monitor_problem(tasks: Sequence[Task], monitor: str) -> str | None:
    """What is wrong with ``train.monitor`` (``loss`` or ``TASK.METRIC``), or None.

    Example:
        >>> from manyheads.tasks import Task
        >>> monitor_problem([Task("y", type="binary")], "y.auc") is None
        True
    """
    if monitor == "loss" or not tasks:
        return None
    from manyheads.tasks._registry import get_task_type

    task_name, _, metric = monitor.partition(".")
    names = [t.name for t in tasks]
    if task_name not in names:
        return (
            f"'train.monitor' names unknown task '{task_name}'. Use 'loss' or "
            f"TASK.METRIC with a task of: {', '.join(names)}."
        )
    task = tasks[names.index(task_name)]
    metrics = list(get_task_type(task.type).metric_directions)
    if metric not in metrics:
        return (
            f"'train.monitor' metric '{metric}' is not a metric of "
            f"{task.type} task '{task_name}'. Valid: {', '.join(metrics)}."
        )
    return None


def cross_problems(
    tasks: Sequence[Task], inputs: dict[str, str] | None, monitor: str | None
) -> list[str]:
    """The problems of a label used as an input and of the monitor (None: not checked)."""
    problems = [
        f"column '{col}' is the label of task '{task}' and also "
        "an input: remove it from 'inputs' (that would leak the label)."
        for col, task in leaked_labels(tasks, inputs)
    ]
    found = monitor_problem(tasks, monitor) if monitor is not None else None
    return problems + ([found] if found else [])


def source_task_problems(data: DataConfig, tasks: Sequence[Task]) -> list[str]:
    """Each source names known tasks, and each task is in a source."""
    names = [t.name for t in tasks]
    claimed: set[str] = set()
    problems = []
    for i, src in enumerate(data.sources):
        for task in src.tasks:
            claimed.add(task)
            if task not in names:
                problems.append(
                    f"'data.sources[{i}].tasks' names unknown task '{task}'."
                    f"{did_you_mean(task, names)} Tasks: {', '.join(names)}."
                )
    problems.extend(
        f"task '{name}' is in no source: add it to the 'tasks' of the source that holds its labels."
        for name in names
        if name not in claimed
    )
    return problems
