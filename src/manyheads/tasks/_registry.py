"""The registry of task types (``manyheads ls tasks``, filled in :mod:`manyheads._catalogue`)."""

from __future__ import annotations

from manyheads._catalogue import TASK_TYPES
from manyheads.tasks._base import TaskType

__all__ = ["TASK_TYPES", "get_task_type", "list_task_types"]

_INSTANCES: dict[str, TaskType] = {}


def get_task_type(name: str) -> TaskType:
    """The (stateless, shared) task-type object called ``name``."""
    if name not in _INSTANCES:
        _INSTANCES[name] = TASK_TYPES.create(name)
    return _INSTANCES[name]


def list_task_types() -> list[str]:
    """Names of the registered task types."""
    return TASK_TYPES.names()
