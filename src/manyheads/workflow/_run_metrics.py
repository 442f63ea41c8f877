"""The final scores of a run (``metrics.json``): :class:`RunMetrics`, per-task metric dicts,
strict-JSON values, and the file read back."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from manyheads.errors import DataError
from manyheads.tasks._registry import get_task_type
from manyheads.tasks.task import Task

__all__ = ["RunMetrics", "json_safe", "read_metrics", "task_metrics"]


@dataclasses.dataclass(frozen=True)
class RunMetrics:
    """The final scores of a training run, written as ``metrics.json``.

    ``tasks`` scores the test split when there is one, else validation (``split`` says which);
    ``valid`` always scores validation. Inference is timed on the scored split (the median of
    up to 5 passes). A multi-source run adds each source's own scores and how it was sampled.
    """

    split: str
    architecture: str
    method: str
    seed: int
    train_seconds: float
    inference_seconds: float
    inference_rows: int
    n_parameters: int
    best_epoch: int
    task_best_epochs: dict[str, int] | None
    epochs_run: int
    tasks: dict[str, Any]
    valid: dict[str, Any]
    sources: dict[str, Any] | None = None
    sampling: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``metrics.json`` layout: keys in this order, the optional ones only when set."""
        out = dataclasses.asdict(self)
        for key in ("task_best_epochs", "sources", "sampling"):
            if out[key] is None:
                del out[key]
        return out


def task_metrics(tasks: list[Task], scores: dict[str, dict[str, float]]) -> dict[str, Any]:
    out = {}
    for t in tasks:
        task_type = get_task_type(t.type)
        primary = task_type.metric_names(t)[0]
        out[t.name] = {
            "primary": primary,
            "higher_is_better": task_type.metric_directions[primary],
            **scores[t.name],
        }
    return out


def json_safe(value: object) -> object:
    """Replace NaN/inf (a metric on a split without labels) by None: strict JSON has no NaN.

    Example:
        >>> json_safe({"auc": float("nan"), "n": [1, 2.5]})
        {'auc': None, 'n': [1, 2.5]}
    """
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def read_metrics(metrics_path: Path) -> dict[str, Any] | None:
    """A run's ``metrics.json``, or None when the run has none.

    Raises:
        DataError: the file cannot be read (naming it: the model loads without it).
    """
    if not metrics_path.exists():
        return None
    try:
        return _renamed_keys(json.loads(metrics_path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(
            f"cannot read the run's metrics ({exc}). Restore the file or delete it (the "
            "model loads without it).",
            path=str(metrics_path),
        ) from None


def _renamed_keys(metrics: dict[str, Any]) -> dict[str, Any]:
    """``metrics.json`` with ``weighting``, its key before 0.2, read as ``method`` (silently:
    manyheads wrote the file; :mod:`manyheads.config._renamed` lists the renames)."""
    return {("method" if key == "weighting" else key): value for key, value in metrics.items()}
