"""The registry of task types (``manyheads ls tasks``, filled in :mod:`manyheads._catalogue`)."""

from __future__ import annotations

from manyheads._catalogue import TASK_KINDS
from manyheads.tasks._base import TaskKind

__all__ = ["TASK_KINDS", "get_kind", "list_task_types"]

_INSTANCES: dict[str, TaskKind] = {}


def get_kind(name: str) -> TaskKind:
    """The (stateless, shared) task-type object called ``name``."""
    if name not in _INSTANCES:
        _INSTANCES[name] = TASK_KINDS.create(name)
    return _INSTANCES[name]


def list_task_types() -> list[str]:
    """Names of the registered task types."""
    return TASK_KINDS.names()
