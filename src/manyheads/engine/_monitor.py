"""The validation score that picks the best epoch, and the check that ``train.monitor`` can
score at all before any training (a NaN score would never improve)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import torch
from torch import Tensor

from manyheads.data.tensors import EncodedTable
from manyheads.engine.loop import evaluate_losses
from manyheads.errors import DataWarning, InvalidParameterError
from manyheads.tasks._fitted import FittedTask

__all__ = ["check_monitor", "validation_score"]


def validation_score(
    outputs: dict[str, Tensor],
    table: EncodedTable,
    tasks: Sequence[FittedTask],
    monitor: str,
) -> float:
    """Lower-is-better score of the fitted ``tasks`` used for early stopping and for choosing
    the best epoch."""
    if monitor == "loss":  # tasks without a labelled validation row do not count
        losses = evaluate_losses(outputs, table, tasks)
        plain = [t.task for t in tasks]
        scored = [t for t in plain if bool(table.mask[t.name].any())] or plain
        return sum(t.weight * losses[t.name] for t in scored) / max(
            1e-12, sum(t.weight for t in scored)
        )
    task_name, _, metric = monitor.partition(".")
    task = next(t for t in tasks if t.name == task_name)
    value = task.score(outputs[task.name], table.y[task_name], table.mask[task_name])[metric]
    return -value if task.task_type.metric_directions[metric] else value


def check_monitor(
    valid: EncodedTable,
    tasks: Sequence[FittedTask],
    monitor: str,
    *,
    where: str = "the validation rows",
) -> None:
    """Refuse a ``monitor`` that the validation labels of the fitted ``tasks`` leave
    undefined, before any training.

    A monitored metric that is NaN on validation (a task without labelled validation rows,
    ``auc`` with one class) would never improve, so no epoch would be selected. With
    ``monitor: loss`` a task without labelled validation rows is left out of the score (see
    :func:`validation_score`) with a :class:`~manyheads.errors.DataWarning`; no such row at all
    is refused. Only the labels decide: the metric is computed on a constant output.

    Raises:
        InvalidParameterError: naming the task, the metric and the fix.
    """
    labelled = {t.name: bool(valid.mask[t.name].any()) for t in tasks}
    if monitor == "loss":
        if not any(labelled.values()):
            raise InvalidParameterError(
                f"No task has a labelled row in {where}, so the validation loss (train.monitor: "
                "loss) that selects the best epoch is undefined. Give validation rows with "
                "labels (data.valid, or data.valid_fraction of the labelled training rows)."
            )
        for name in [n for n, has in labelled.items() if not has]:
            warnings.warn(
                f"task '{name}' has no labelled row in {where}: it is left out of the "
                "validation loss that selects the best epoch (train.monitor: loss).",
                DataWarning,
                stacklevel=2,
            )
        return
    name, _, metric = monitor.partition(".")
    task = next(t for t in tasks if t.name == name)
    defined = [
        f"{t.name}.{m}"
        for t in tasks
        for m, v in _constant_scores(t, valid).items()
        if m in t.task_type.metric_directions and not math.isnan(v)
    ]
    fix = (
        f"Set train.monitor to loss{' or one of ' + ', '.join(defined) if defined else ''}, or "
        "give validation rows that define it."
    )
    if not labelled[name]:
        raise InvalidParameterError(
            f"The monitored metric '{monitor}' (train.monitor) is undefined: task '{name}' has "
            f"no labelled row in {where}, so no epoch could be selected. {fix}"
        )
    value = _constant_scores(task, valid)[metric]
    if math.isnan(value):
        n = int(valid.mask[name].reshape(valid.n_rows, -1).any(dim=1).sum())
        one_class = " (e.g. auc needs both classes)" if "auc" in metric else ""
        raise InvalidParameterError(
            f"The monitored metric '{monitor}' (train.monitor) is NaN on the {n} labelled "
            f"validation row(s) of task '{name}' in {where}{one_class}, so no epoch could be "
            f"selected ({task.task_type.name} task). {fix}"
        )


def _constant_scores(task: FittedTask, valid: EncodedTable) -> dict[str, float]:
    """The task's validation metrics for an all-zero output (NaN where the labels leave a
    metric undefined, whatever the model predicts)."""
    target, mask = valid.y[task.name], valid.mask[task.name]
    width = task.out_dim
    if task.task_type.level == "token":
        output = torch.zeros(*target.shape, width)
        if task.task.crf:  # the CRF parameter rides along (tasks/_tagging.py)
            output = torch.cat([output, torch.zeros(len(target), width + 2, width)], dim=1)
    elif width == 1:
        output = torch.zeros(target.shape)
    elif target.dim() == 1:
        output = torch.zeros(len(target), width)
    else:
        output = torch.zeros(target.shape)
    return task.score(output, target, mask)
