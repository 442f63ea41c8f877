"""Regression: a standardised target (train mean/std), MSE or Huber loss; RMSE / MAE / R²."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor

from manyheads.tasks._base import (
    State,
    TaskExample,
    as_tensor,
    check_loss,
    column_of,
    label_error,
    masked_mean,
    metric_scores,
)
from manyheads.tasks._valued import ValuedTaskType
from manyheads.tasks.task import Task

__all__ = ["Regression"]


class Regression(ValuedTaskType):
    """A real-valued target; predictions are inverted back to the original scale."""

    name = "regression"
    extra_fields: ClassVar[tuple[str, ...]] = ("loss",)
    summary = "a real value (standardised on train); mse or huber; metrics rmse, mae, r2"
    metric_directions: ClassVar[dict[str, bool]] = {"rmse": False, "mae": False, "r2": True}
    example = TaskExample({"y": (0.5, 1.5, -2.0, 3.25, 0.0, 1.0)})

    def check_task(self, task: Task) -> None:
        super().check_task(task)
        check_loss(self.name, task, ("mse", "huber"))

    def _values(self, task: Task, frame: pd.DataFrame, path: str) -> tuple[np.ndarray, np.ndarray]:
        series = column_of(task, frame, path)
        raw = series.astype("string").str.strip()
        empty = raw.isna() | raw.eq("") | raw.str.lower().eq("nan")  # NaN: unlabelled
        values = pd.to_numeric(raw.where(~empty), errors="coerce")
        bad = (values.isna() & ~empty).to_numpy(dtype=bool)
        if bad.any():
            cell = series.to_numpy()[np.flatnonzero(bad)[0]]
            raise label_error(
                task,
                f"regression task '{task.name}' needs numbers, got {cell!r}. "
                "Fix the cell, leave it empty for a missing label, or use a classification type.",
                frame,
                path,
                bad,
            )
        v = values.to_numpy(dtype=float, na_value=np.nan)
        inf = np.isinf(v)  # NaN/empty: unlabelled; ±inf: an error (docs/reliability.md)
        if inf.any():
            raise label_error(
                task,
                f"regression task '{task.name}' needs finite numbers, got "
                f"{v[np.flatnonzero(inf)[0]]}. Leave the cell empty for a missing label, or "
                "fix it.",
                frame,
                path,
                inf,
            )
        mask = np.isfinite(v)
        return np.where(mask, v, 0.0), mask

    def fit(self, task: Task, frame: pd.DataFrame, path: str) -> State:
        v, mask = self._training_values(task, frame, path)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow: refused below
            mean, std = float(v[mask].mean()), float(v[mask].std())
        if not (np.isfinite(mean) and np.isfinite(std)):
            largest = np.abs(v) == np.abs(v).max()
            raise label_error(
                task,
                f"regression task '{task.name}': the label {v[np.flatnonzero(largest)[0]]:g} "
                "is too large: the labels' mean or standard deviation overflows to infinity. "
                "Rescale the labels (e.g. to other units or a logarithm) or fix the cell.",
                frame,
                path,
                largest,
            )
        return {"mean": mean, "std": std if std > 0 else 1.0}

    def encode(
        self, task: Task, state: State, frame: pd.DataFrame, path: str, *, unseen: str = "warn"
    ) -> tuple[Tensor, Tensor]:
        del unseen  # no label vocabulary: nothing can be unseen
        v, mask = self._values(task, frame, path)
        z = np.where(mask, (v - state["mean"]) / state["std"], 0.0)
        far = ~(np.abs(z) <= np.finfo(np.float32).max)  # would reach the loss as ±inf
        if far.any():
            raise label_error(
                task,
                f"regression task '{task.name}': the label {v[np.flatnonzero(far)[0]]:g} is too "
                "far from the training labels: standardised, it overflows float32. Fix the "
                "cell or rescale the labels.",
                frame,
                path,
                far,
            )
        return as_tensor(z, torch.float32), as_tensor(mask, torch.bool)

    def out_dim(self, state: State) -> int:
        return 1

    def loss(
        self, task: Task, state: State, output: Tensor, target: Tensor, mask: Tensor
    ) -> Tensor:
        if task.loss == "huber":
            per_row = F.huber_loss(output, target, reduction="none")
        else:
            per_row = F.mse_loss(output, target, reduction="none")
        return masked_mean(per_row, mask)

    def predict(self, task: Task, state: State, output: Tensor) -> dict[str, np.ndarray]:
        values = output.float().cpu().numpy() * state["std"] + state["mean"]
        return {task.name: values}

    def score(
        self, task: Task, state: State, output: Tensor, target: Tensor, mask: Tensor
    ) -> dict[str, float]:
        m = mask.cpu().numpy()
        scale, shift = state["std"], state["mean"]
        y = target.cpu().numpy()[m] * scale + shift
        p = output.float().cpu().numpy()[m] * scale + shift
        return metric_scores(
            self.metric_names(task), int(m.sum()), lambda name: _metric(name, y, p)
        )


def _metric(metric: str, y: np.ndarray, p: np.ndarray) -> float:
    """One metric over the labelled rows (at least one), on the original scale."""
    from sklearn.metrics import (  # on first use: validate and --help load no sklearn
        mean_absolute_error,
        mean_squared_error,
        r2_score,
    )

    if metric == "rmse":
        return float(np.sqrt(mean_squared_error(y, p)))
    if metric == "mae":
        return float(mean_absolute_error(y, p))
    return float(r2_score(y, p)) if len(y) > 1 else float("nan")
