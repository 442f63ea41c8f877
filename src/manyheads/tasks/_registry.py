"""The registry of task types, filled from one explicit list (``manyheads ls tasks``)."""

from __future__ import annotations

from manyheads._registry import Registry
from manyheads.tasks._base import TaskKind
from manyheads.tasks._binary import Binary
from manyheads.tasks._box import Box
from manyheads.tasks._multiclass import Multiclass
from manyheads.tasks._multilabel import Multilabel
from manyheads.tasks._regression import Regression
from manyheads.tasks._tagging import Tagging

__all__ = ["TASK_KINDS", "get_kind", "list_task_types"]

TASK_KINDS: Registry[TaskKind] = Registry("task type")
for _kind in (Binary, Multiclass, Multilabel, Regression, Tagging, Box):
    TASK_KINDS.register(_kind.name, _kind, doc=_kind.summary)

_INSTANCES: dict[str, TaskKind] = {}


def get_kind(name: str) -> TaskKind:
    """The (stateless, shared) task-type object called ``name``."""
    if name not in _INSTANCES:
        _INSTANCES[name] = TASK_KINDS.create(name)
    return _INSTANCES[name]


def list_task_types() -> list[str]:
    """Names of the registered task types."""
    return TASK_KINDS.names()
