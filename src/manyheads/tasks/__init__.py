"""Tasks: what to predict (:class:`Task`) and how each task type encodes, losses and scores."""

from manyheads.tasks._base import TaskExample, TaskType
from manyheads.tasks._fitted import FittedTask, fit_task
from manyheads.tasks._registry import TASK_TYPES, get_task_type, list_task_types
from manyheads.tasks.task import Task

__all__ = [
    "TASK_TYPES",
    "FittedTask",
    "Task",
    "TaskExample",
    "TaskType",
    "fit_task",
    "get_task_type",
    "list_task_types",
]
