"""``PerTaskBest``: for independent tasks (``stl``), each task's weights from its own best
validation epoch."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from torch import Tensor

from manyheads.architectures.base import MTLModel
from manyheads.data.tensors import EncodedTable
from manyheads.engine.loop import evaluate_losses
from manyheads.tasks._fitted import FittedTask

__all__ = ["PerTaskBest"]


class PerTaskBest:
    """For independent tasks (``stl``): each task's weights from its own best validation epoch.

    A task's score is its validation loss when the monitor is ``loss``, else its primary metric
    (the monitored metric for the monitored task), made lower-is-better.
    """

    #: The prefix of the kept weights' names in a checkpoint's ``best`` tensors.
    PREFIX = "task::"

    def __init__(self, model: MTLModel, tasks: Sequence[FittedTask], monitor: str) -> None:
        self.tasks = list(tasks)
        self.monitor = monitor
        self.keys = {t.name: model.task_state_keys(t.name) or [] for t in tasks}
        self.score = {t.name: math.inf for t in tasks}
        self.epoch = {t.name: 0 for t in tasks}
        #: task name -> its kept ``state_dict`` entries (weights of its best epoch).
        self.weights: dict[str, dict[str, Tensor]] = {t.name: {} for t in tasks}

    @classmethod
    def for_model(
        cls, model: MTLModel, tasks: Sequence[FittedTask], monitor: str
    ) -> PerTaskBest | None:
        """A selector if ``model`` declares independent tasks, else None."""
        if any(model.task_state_keys(t.name) is None for t in tasks):
            return None
        return cls(model, tasks, monitor)

    def _task_score(
        self, task: FittedTask, outputs: dict[str, Tensor], valid: EncodedTable
    ) -> float:
        if self.monitor == "loss":
            return evaluate_losses(outputs, valid, [task])[task.name]
        task_type = task.task_type
        name, _, metric = self.monitor.partition(".")
        metric = metric if name == task.name else task_type.metric_names(task.task)[0]
        value = task.score(outputs[task.name], valid.y[task.name], valid.mask[task.name])[metric]
        if math.isnan(value):
            return math.inf
        return -value if task_type.metric_directions[metric] else value

    def update(
        self,
        epoch: int,
        model: MTLModel,
        outputs: dict[str, Tensor],
        valid: EncodedTable,
    ) -> None:
        """Keep each task's weights when its validation score improved."""
        current = model.state_dict()
        for task in self.tasks:
            score = self._task_score(task, outputs, valid)
            if score < self.score[task.name]:
                self.score[task.name], self.epoch[task.name] = score, epoch
                self.weights[task.name] = {
                    k: current[k].detach().cpu().clone() for k in self.keys[task.name]
                }

    def apply(self, model: MTLModel) -> None:
        """Load every task's best weights into ``model``."""
        merged = {k: v for kept in self.weights.values() for k, v in kept.items()}
        model.load_state_dict(merged, strict=False)

    def epochs(self) -> dict[str, int]:
        """Task name -> its best epoch."""
        return dict(self.epoch)

    def meta(self) -> dict[str, Any]:
        """JSON-ready bookkeeping for checkpoints."""
        return {"score": self.score, "epoch": self.epoch}

    def tensors(self) -> dict[str, Tensor]:
        """The kept weights, keyed ``task::<task>::<state key>`` for checkpoints."""
        return {
            f"{self.PREFIX}{t}::{k}": v for t, kept in self.weights.items() for k, v in kept.items()
        }

    def load(self, tensors: dict[str, Tensor], meta: dict[str, Any]) -> None:
        """Restore from a checkpoint written with :meth:`tensors` and :meth:`meta`."""
        self.score = {k: float(v) for k, v in meta["score"].items()}
        self.epoch = {k: int(v) for k, v in meta["epoch"].items()}
        for name, value in tensors.items():
            if name.startswith(self.PREFIX):
                _, task, key = name.split("::", 2)
                self.weights[task][key] = value
