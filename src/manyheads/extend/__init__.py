"""Extend a trained model: add a task to it (``manyheads add-task``, :meth:`Run.add_task`).

The model grows by the new task's own parts; with ``unfreeze`` ``none`` only they train and the
old tasks' predictions stay bit-identical; ``heads`` and ``all`` also train old parts under
Learning without Forgetting (:mod:`manyheads.extend._lwf`).
"""

from manyheads.extend._add_task import NewData, add_task
from manyheads.extend._grow import REASONS, grow_model
from manyheads.extend._settings import UNFREEZE, AddTaskSettings, new_task, settings_of

__all__ = [
    "REASONS",
    "UNFREEZE",
    "AddTaskSettings",
    "NewData",
    "add_task",
    "grow_model",
    "new_task",
    "settings_of",
]
