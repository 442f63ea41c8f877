"""The loop's record across epochs (history, training time, best epoch, per-task best), which
a checkpoint carries so that a resumed run ends where an uninterrupted one would."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor

from manyheads.architectures.base import MTLModel
from manyheads.engine._early_stop import EarlyStopping
from manyheads.engine._inputs import TrainInputs
from manyheads.engine._per_task_best import PerTaskBest

__all__ = ["Bookkeeping", "TrainResult"]


@dataclass
class TrainResult:
    """What training produced besides the model's weights (which hold the best epoch)."""

    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_score: float = math.inf
    train_seconds: float = 0.0
    task_best_epochs: dict[str, int] | None = None


@dataclass
class Bookkeeping:
    """Every epoch's record, the time spent training, and the weights each epoch selects.

    Args:
        stopper: the best epoch overall, and early stopping.
        per_task: each task's best epoch (independent tasks, ``stl``), else None.
        history: one record per completed epoch (a row of ``history.csv``).
        train_seconds: time spent in training epochs (not validation).
    """

    stopper: EarlyStopping
    per_task: PerTaskBest | None
    history: list[dict[str, float]] = field(default_factory=list)
    train_seconds: float = 0.0

    def end_epoch(
        self,
        epoch: int,
        model: MTLModel,
        record: dict[str, float],
        outputs: dict[str, Tensor],
        inputs: TrainInputs,
    ) -> None:
        """Add ``epoch``'s ``record`` and let the selectors keep ``model``'s weights if they
        improved (``outputs``: the validation outputs the record was scored on)."""
        self.history.append(record)
        self.stopper.update(epoch, record["valid_score"], model)
        if self.per_task is not None:
            self.per_task.update(epoch, model, outputs, inputs.valid)

    def select(self, model: MTLModel) -> TrainResult:
        """Load the selected weights into ``model``; what training produced."""
        self.stopper.apply(model)
        task_best = None
        if self.per_task is not None:
            self.per_task.apply(model)
            task_best = self.per_task.epochs()
        s = self.stopper
        return TrainResult(self.history, s.best_epoch, s.best_score, self.train_seconds, task_best)

    def meta(self, *, epoch: int, step: int) -> dict[str, Any]:
        """The JSON half of a checkpoint after ``epoch`` (and ``step`` optimiser steps)."""
        return {
            "epoch": epoch,
            "step": step,
            "stale": self.stopper.stale,
            "history": self.history,
            "best_epoch": self.stopper.best_epoch,
            "best_score": self.stopper.best_score,
            "train_seconds": self.train_seconds,
            "task_best": self.per_task.meta() if self.per_task is not None else None,
        }

    def tensors(self) -> dict[str, Tensor]:
        """The kept weights: the best epoch's, then each task's (``task::<task>::<key>``)."""
        kept = dict(self.stopper.best_state or {})
        return kept | (self.per_task.tensors() if self.per_task is not None else {})

    def load(self, best: dict[str, Tensor], meta: dict[str, Any]) -> None:
        """Restore from a checkpoint's ``best`` tensors and its JSON ``meta``."""
        overall = {k: v for k, v in best.items() if not k.startswith(PerTaskBest.PREFIX)}
        self.stopper.load(
            overall,
            best_epoch=meta["best_epoch"],
            best_score=meta["best_score"],
            stale=meta["stale"],
        )
        if self.per_task is not None:
            self.per_task.load(best, meta["task_best"])
        self.history = meta["history"]
        self.train_seconds = meta["train_seconds"]
