"""``data.group_by``: score every binary task per group (user) as well, into ``metrics.json``.

The column is checked on every split before anything trains; after training each binary task
gets ``gauc``, ``ndcg@k`` and ``recall@k`` (:mod:`manyheads.tasks._ranking`) beside its other
metrics on the scored split and on validation, so ``compare`` reports them too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from manyheads.config.schema import RunConfig
from manyheads.errors import DataError
from manyheads.tasks._ranking import ranking_metrics
from manyheads.workflow._run import Run
from manyheads.workflow._splits import Splits

__all__ = ["add_ranking_metrics", "check_group_column", "ranking_scores"]


def _check_column(frame: pd.DataFrame, column: str, name: str, setting: str) -> None:
    if column not in frame.columns:
        shown = ", ".join(map(str, list(frame.columns)[:20]))
        raise DataError(
            f"{setting} names the column '{column}', which the {name} rows lack (columns: "
            f"{shown}). Name the user/query id column of the data, or remove {setting}.",
            path=str(frame.attrs.get("path", f"<{name}>")),
            column=column,
        )


def check_group_column(config: RunConfig, splits: Splits) -> None:
    """Refuse a ``data.group_by`` column that a split lacks, naming the file and the fix.

    Raises:
        DataError: the column is missing (the columns found are listed).
    """
    column = config.data.group_by
    if column is None:
        return
    for name, frame in (("train", splits.train), ("valid", splits.valid), ("test", splits.test)):
        if frame is not None:
            _check_column(frame, column, name, "'data.group_by'")


def _binary_scores(run: Run, frame: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per binary task: (labelled-row mask, [labels, probabilities] of those rows)."""
    table, outputs = run._outputs(frame, labels=True)
    out = {}
    for t in run.tasks:
        if t.type != "binary":
            continue
        mask = table.mask[t.name].cpu().numpy().astype(bool)
        y = table.y[t.name].cpu().numpy()[mask]
        p = torch.sigmoid(outputs[t.name].float()).cpu().numpy()[mask]
        out[t.name] = (mask, np.stack([y, p]))
    return out


def ranking_scores(
    run: Run, frame: pd.DataFrame, column: str, k: int, *, setting: str = "group_by"
) -> dict[str, Any]:
    """Per binary task of ``run``: ``gauc``, ``ndcg@k``, ``recall@k`` on the labelled rows of
    ``frame``, grouped by ``frame[column]`` (rows without a group are left out).

    Raises:
        DataError: ``frame`` has no column ``column`` (``setting`` names who asked for it).
    """
    _check_column(frame, column, "evaluated", setting)
    group = frame[column].to_numpy()
    known = ~pd.isna(frame[column]).to_numpy()  # rows without a group are left out
    out = {}
    for task, (mask, (y, p)) in _binary_scores(run, frame).items():
        keep = known[mask]
        y_known = y[keep]
        # y is -1 for a class unseen in training: no rank, left out as in the task's AUC
        seen = y_known >= 0
        out[task] = ranking_metrics(group[mask][keep][seen], y_known[seen], p[keep][seen], k=k)
    return out


def add_ranking_metrics(run: Run, config: RunConfig, splits: Splits) -> None:
    """Add ``gauc``, ``ndcg@k`` and ``recall@k`` of each binary task to ``run.metrics``."""
    column = config.data.group_by
    if column is None or run.metrics is None:
        return
    k = config.data.ranking_k
    scored = splits.test if run.metrics["split"] == "test" else splits.valid
    assert scored is not None
    for key, frame in (("tasks", scored), ("valid", splits.valid)):
        for task, values in ranking_scores(run, frame, column, k).items():
            run.metrics[key][task].update(values)
    run.metrics["group_by"] = {"column": column, "k": k}
