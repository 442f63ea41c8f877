"""The add-task report: the new task's metrics, and each old task's primary metric before and
after on the same labelled rows (backward transfer: after - before, 0 when nothing moved)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from manyheads.architectures.base import MTLModel
from manyheads.data.preprocess import TablePreprocessor
from manyheads.engine.loop import predict_outputs, score_outputs
from manyheads.extend._data import encode_new
from manyheads.tasks._fitted import FittedTask

__all__ = ["backward_transfer", "labelled_tasks", "score_tasks"]


def labelled_tasks(frame: pd.DataFrame, tasks: list[FittedTask]) -> list[FittedTask]:
    """The ``tasks`` whose label columns are all in ``frame``."""
    present = {str(c) for c in frame.columns}
    return [t for t in tasks if all(c in present for c in t.task.label_columns)]


def score_tasks(
    model: MTLModel, pre: TablePreprocessor, frame: pd.DataFrame, tasks: list[FittedTask]
) -> dict[str, dict[str, float]]:
    """Every metric of each of ``tasks`` (all labelled in ``frame``) for ``model``."""
    table = encode_new(pre, frame, tasks)
    device = next(model.parameters()).device
    outputs = predict_outputs(model, table, batch_size=8192, device=device)
    return score_outputs(outputs, table, tasks)


def backward_transfer(
    before: dict[str, dict[str, float]],
    after: dict[str, dict[str, float]],
    tasks: list[FittedTask],
) -> dict[str, dict[str, Any]]:
    """Per old task: its primary metric before and after, and the change (after - before).

    Example:
        >>> from manyheads.tasks import Task, fit_task
        >>> t = fit_task(Task("y", type="binary"), pd.DataFrame({"y": [0, 1]}), "x.csv")
        >>> backward_transfer({"y": {"auc": 0.8}}, {"y": {"auc": 0.75}}, [t])["y"]["change"]
        -0.05
    """
    out = {}
    for t in tasks:
        primary = t.task_type.metric_names(t.task)[0]
        b, a = before[t.name][primary], after[t.name][primary]
        out[t.name] = {
            "primary": primary,
            "higher_is_better": t.task_type.metric_directions[primary],
            "before": b,
            "after": a,
            "change": round(a - b, 12),
        }
    return out
