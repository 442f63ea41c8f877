"""Multi-class classification: C logits, cross-entropy, accuracy / macro-F1."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from manyheads.errors import DataError
from manyheads.tasks._base import State, TaskExample, metric_scores
from manyheads.tasks._classes import ClassTaskType, class_values
from manyheads.tasks.task import Task

__all__ = ["Multiclass"]


class Multiclass(ClassTaskType):
    """One of C >= 2 classes; optional label smoothing and balanced class weights."""

    name = "multiclass"
    extra_fields: ClassVar[tuple[str, ...]] = ("loss", "label_smoothing", "class_weight")
    summary = "one of C classes; cross-entropy; metrics accuracy, macro_f1"
    metric_directions: ClassVar[dict[str, bool]] = {"accuracy": True, "macro_f1": True}
    example = TaskExample({"y": ("a", "b", "c", "a", "b", "c")})

    loss_name = "ce"
    target_dtype = torch.int64
    weight_key = "class_weights"

    def _check_classes(self, task: Task, classes: list[str], path: str) -> list[str]:
        """At least two classes, in their sorted order."""
        if len(classes) < 2:
            raise DataError(
                f"task '{task.name}' needs at least 2 classes in the training data; "
                f"found {classes}.",
                path=path,
                column=task.label_columns[0],
            )
        return classes

    def _balanced(self, y: np.ndarray, n_classes: int) -> list[float]:
        counts = np.bincount(y, minlength=n_classes).astype(float)
        weights = counts.sum() / (n_classes * np.maximum(counts, 1.0))
        return list(weights.tolist())

    def out_dim(self, state: State) -> int:
        return len(state["classes"])

    def _row_loss(
        self, task: Task, output: Tensor, target: Tensor, weight: Tensor | None
    ) -> Tensor:
        return F.cross_entropy(
            output,
            target,
            weight=weight,
            reduction="none",
            label_smoothing=task.label_smoothing,
        )

    def predict(self, task: Task, state: State, output: Tensor) -> dict[str, np.ndarray]:
        """The predicted class as the training column's values and its probability."""
        proba = torch.softmax(output.float(), dim=-1).cpu().numpy()
        classes = class_values(state["classes"], state.get("label_type"))
        return {task.name: classes[proba.argmax(axis=1)], f"{task.name}_proba": proba.max(axis=1)}

    def score(
        self, task: Task, state: State, output: Tensor, target: Tensor, mask: Tensor
    ) -> dict[str, float]:
        m = mask.cpu().numpy()
        y = target.cpu().numpy()[m]
        pred = output.argmax(dim=-1).cpu().numpy()[m]
        return metric_scores(
            self.metric_names(task), int(m.sum()), lambda name: _metric(name, y, pred)
        )


def _metric(metric: str, y: np.ndarray, pred: np.ndarray) -> float:
    """One metric over the labelled rows (at least one) of targets ``y`` and classes ``pred``."""
    from sklearn.metrics import f1_score  # on first use: validate and --help load no sklearn

    if metric == "accuracy":  # a class unseen in training (-1) is always wrong
        return float(np.mean(y == pred))
    # over the known classes present; an unseen class's rows are misses
    present = sorted(set(y[y >= 0].tolist()) | set(pred.tolist()))
    return float(f1_score(y, pred, labels=present, average="macro", zero_division=0.0))
