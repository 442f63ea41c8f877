"""Binary classification: one logit, BCE with logits, AUC / accuracy / F1 / log-loss."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from manyheads.errors import DataError
from manyheads.tasks._base import State, TaskExample, sigmoid_scores
from manyheads.tasks._classes import ClassTaskType, class_values
from manyheads.tasks.task import Task

__all__ = ["Binary"]


class Binary(ClassTaskType):
    """Two classes; the output is one logit of the positive class."""

    name = "binary"
    extra_fields: ClassVar[tuple[str, ...]] = ("loss", "class_weight", "positive")
    summary = "two classes; BCE loss; metrics auc, accuracy, f1, logloss"
    metric_directions: ClassVar[dict[str, bool]] = {
        "auc": True,
        "accuracy": True,
        "f1": True,
        "logloss": False,
    }
    example = TaskExample({"y": ("no", "yes", "yes", "no", "yes", "no")})

    loss_name = "bce"
    target_dtype = torch.float32
    weight_key = "pos_weight"

    def _check_classes(self, task: Task, classes: list[str], path: str) -> list[str]:
        """Exactly two classes; the positive class (``task.positive``, default the last) last."""
        if len(classes) != 2:
            hint = "use type multiclass" if len(classes) > 2 else "check the column"
            raise DataError(
                f"task '{task.name}' is binary but the column has {len(classes)} distinct "
                f"label(s) ({', '.join(classes[:10])}); {hint}.",
                path=path,
                column=task.label_columns[0],
            )
        if task.positive is not None:
            if task.positive not in classes:
                raise DataError(
                    f"the positive class '{task.positive}' of task '{task.name}' is not among "
                    f"its labels {classes}.",
                    path=path,
                    column=task.label_columns[0],
                )
            classes = [c for c in classes if c != task.positive] + [task.positive]
        return classes

    def _balanced(self, y: np.ndarray, n_classes: int) -> float:
        pos = float((y == 1).mean())
        return (1.0 - pos) / max(pos, 1e-12)

    def out_dim(self, state: State) -> int:
        return 1

    def _row_loss(
        self, task: Task, output: Tensor, target: Tensor, weight: Tensor | None
    ) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            output, target, reduction="none", pos_weight=weight
        )

    def predict(self, task: Task, state: State, output: Tensor) -> dict[str, np.ndarray]:
        """The predicted class as the training column's values (ints, floats, booleans or
        strings) and the positive class's probability."""
        proba = torch.sigmoid(output.float()).cpu().numpy()
        classes = class_values(state["classes"], state.get("label_type"))
        return {task.name: classes[(proba >= 0.5).astype(int)], f"{task.name}_proba": proba}

    def score(
        self, task: Task, state: State, output: Tensor, target: Tensor, mask: Tensor
    ) -> dict[str, float]:
        return sigmoid_scores(self.metric_names(task), output, target, mask, _metric)


def _metric(metric: str, y: np.ndarray, p: np.ndarray) -> float:
    """One metric over the labelled rows (at least one); ``y`` -1 is a class unseen in training:
    wrong in accuracy, never the positive class in f1, left out of auc and logloss (no rank)."""
    from sklearn.metrics import (  # on first use: validate and --help load no sklearn
        f1_score,
        log_loss,
        roc_auc_score,
    )

    pred = (p >= 0.5).astype(int)
    if metric == "accuracy":
        return float(np.mean(y == pred))
    if metric == "f1":
        return float(f1_score(y, pred, labels=[1], average="micro", zero_division=0.0))
    known = y >= 0
    y, p = y[known], p[known]
    if metric == "auc":
        return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")
    if len(y) == 0:
        return float("nan")
    return float(log_loss(y, np.clip(p, 1e-7, 1 - 1e-7), labels=[0, 1]))
