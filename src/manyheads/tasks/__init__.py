"""Tasks: what to predict (:class:`Task`) and how each task type encodes, losses and scores."""

from manyheads.tasks._base import TaskExample, TaskKind
from manyheads.tasks._fitted import FittedTask, fit_task
from manyheads.tasks._registry import TASK_KINDS, get_kind, list_task_types
from manyheads.tasks.task import Task

__all__ = [
    "TASK_KINDS",
    "FittedTask",
    "Task",
    "TaskExample",
    "TaskKind",
    "fit_task",
    "get_kind",
    "list_task_types",
]
