"""Multi-class classification: C logits, cross-entropy, accuracy / macro-F1."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score
from torch import Tensor

from manyheads.errors import DataError, InvalidParameterError
from manyheads.tasks._base import State, TaskExample, TaskKind, as_tensor, column_of, masked_mean
from manyheads.tasks._classes import class_values, encode_classes, fit_classes, label_type
from manyheads.tasks.task import Task

__all__ = ["Multiclass"]


class Multiclass(TaskKind):
    """One of C >= 2 classes; optional label smoothing and balanced class weights."""

    name = "multiclass"
    summary = "one of C classes; cross-entropy; metrics accuracy, macro_f1"
    metric_directions: ClassVar[dict[str, bool]] = {"accuracy": True, "macro_f1": True}
    example = TaskExample({"y": ("a", "b", "c", "a", "b", "c")})

    def check_task(self, task: Task) -> None:
        super().check_task(task)
        if task.loss not in (None, "ce"):
            raise InvalidParameterError(
                f"The 'loss' of multiclass task '{task.name}' must be 'ce'. Got {task.loss!r}."
            )

    def fit(self, task: Task, frame: pd.DataFrame, path: str) -> State:
        classes = fit_classes(task, column_of(task, frame, path), path)
        if len(classes) < 2:
            raise DataError(
                f"task '{task.name}' needs at least 2 classes in the training data; "
                f"found {classes}.",
                path=path,
                column=task.label_columns[0],
            )
        state: State = {"classes": classes, "label_type": label_type(frame[task.label_columns[0]])}
        if task.class_weight == "balanced":
            y, mask = encode_classes(task, classes, frame[task.label_columns[0]], path, frame)
            counts = np.bincount(y[mask], minlength=len(classes)).astype(float)
            weights = counts.sum() / (len(classes) * np.maximum(counts, 1.0))
            state["class_weights"] = weights.tolist()
        return state

    def encode(
        self, task: Task, state: State, frame: pd.DataFrame, path: str, *, unseen: str = "warn"
    ) -> tuple[Tensor, Tensor]:
        """Class indices; -1 for a class unseen in training (mask True: it counts as wrong)."""
        series = column_of(task, frame, path)
        y, mask = encode_classes(task, state["classes"], series, path, frame, unseen=unseen)
        return as_tensor(np.where(mask, y, 0), torch.int64), as_tensor(mask, torch.bool)

    def out_dim(self, state: State) -> int:
        return len(state["classes"])

    def loss(
        self, task: Task, state: State, output: Tensor, target: Tensor, mask: Tensor
    ) -> Tensor:
        weights = state.get("class_weights")
        w = None if weights is None else output.new_tensor(weights)
        per_row = F.cross_entropy(
            output,
            target.clamp(min=0),
            weight=w,
            reduction="none",
            label_smoothing=task.label_smoothing,
        )
        return masked_mean(per_row, mask & (target >= 0))  # an unseen class (-1) has no loss

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
        out: dict[str, float] = {}
        for metric in self.metric_names(task):
            if len(y) == 0:
                out[metric] = float("nan")
            elif metric == "accuracy":  # a class unseen in training (-1) is always wrong
                out[metric] = float(np.mean(y == pred))
            else:  # over the known classes present; an unseen class's rows are misses
                present = sorted(set(y[y >= 0].tolist()) | set(pred.tolist()))
                out[metric] = float(
                    f1_score(y, pred, labels=present, average="macro", zero_division=0.0)
                )
        out["n"] = int(m.sum())
        return out
