"""What a search optimises: one task's metric, a weighted score, Δm% against ``stl``, or several
metrics at once (multi-objective: the Pareto front). Documented in ``docs/search.md``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from manyheads._registry import did_you_mean
from manyheads.errors import InvalidParameterError
from manyheads.tasks.task import Task

__all__ = ["KINDS", "Objective", "make_objective"]

#: The objective names besides ``TASK.METRIC``.
KINDS = ("weighted", "delta_m")


@dataclass(frozen=True)
class Objective:
    """The value(s) a trial returns to Optuna, from its validation scores.

    Args:
        kind: ``metric`` (one task's metric), ``multi`` (several, one Optuna objective each),
            ``weighted`` (the weighted mean of every task's primary metric, each negated when
            lower is better) or ``delta_m`` (Δm% of the primary metrics against ``stl``).
        targets: (task, metric) pairs: the metrics read from a trial's scores.
        higher: per target, whether higher is better.
        weights: per target, its weight (``weighted``).
        baseline: per task, the ``stl`` baseline's primary metric (``delta_m``).
    """

    kind: str
    targets: tuple[tuple[str, str], ...]
    higher: tuple[bool, ...]
    weights: tuple[float, ...] = ()
    baseline: dict[str, float] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """One label per Optuna objective."""
        if self.kind in ("metric", "multi"):
            return [f"{t}.{m}" for t, m in self.targets]
        return ["weighted score" if self.kind == "weighted" else "Δm% vs stl"]

    @property
    def directions(self) -> list[Literal["minimize", "maximize"]]:
        """Optuna's direction of each objective."""
        if self.kind in ("metric", "multi"):
            return ["maximize" if h else "minimize" for h in self.higher]
        return ["maximize" if self.kind == "weighted" else "minimize"]

    @property
    def prunable(self) -> bool:
        """Pruning needs one objective (Optuna prunes single-objective studies only)."""
        return self.kind != "multi"

    def value(self, scores: dict[str, dict[str, Any]]) -> list[float]:
        """The objective(s) of one trained model from its per-task scores."""
        values = [_number(scores.get(t, {}).get(m)) for t, m in self.targets]
        return self._combine(values)

    def intermediate(self, record: dict[str, float], monitor: str = "loss") -> float | None:
        """The objective from one epoch's ``history.csv`` row: each task's primary metric, or
        the run's ``monitor`` metric (``valid_score``, negated when higher is better). None: the
        row lacks a metric (neither primary nor monitored)."""
        if not self.prunable:
            return None
        values = []
        for (task, metric), higher in zip(self.targets, self.higher, strict=True):
            key = f"valid_{metric}/{task}"
            if key in record:
                values.append(float(record[key]))
            elif monitor == f"{task}.{metric}" and "valid_score" in record:
                score = float(record["valid_score"])  # lower is better (engine._monitor)
                values.append(-score if higher else score)
            else:
                return None
        value = self._combine(values)[0]
        return value if math.isfinite(value) else None

    def _combine(self, values: list[float]) -> list[float]:
        if self.kind in ("metric", "multi"):
            return values
        if self.kind == "weighted":
            signed = [v if h else -v for v, h in zip(values, self.higher, strict=True)]
            total = sum(self.weights)
            return [sum(w * s for w, s in zip(self.weights, signed, strict=True)) / total]
        from manyheads.workflow._summary import absolute_tasks, delta_m

        tasks = [t for t, _ in self.targets]
        metrics = dict(zip(tasks, values, strict=True))
        primary = {t: m for t, m in self.targets}
        higher = dict(zip(tasks, self.higher, strict=True))
        absolute = absolute_tasks(primary, self.baseline)
        return [delta_m(metrics, self.baseline, higher, absolute=absolute)]


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else float("nan")


def _primary(task: Task) -> tuple[str, bool]:
    from manyheads.tasks._registry import get_task_type

    task_type = get_task_type(task.type)
    metric = task_type.metric_names(task)[0]
    return metric, bool(task_type.metric_directions[metric])


def make_objective(
    names: Sequence[str],
    tasks: Sequence[Task],
    *,
    weights: dict[str, float] | None = None,
    monitor: str = "loss",
) -> Objective:
    """The :class:`Objective` of ``--objective`` (``names``) for ``tasks``.

    ``names`` empty: the config's ``train.monitor`` when it names a task's metric, else
    ``weighted``. ``weights`` (``--weights``) are those of ``weighted`` (default 1 each).

    Raises:
        InvalidParameterError: an unknown task, metric or objective name (with the valid
            ones), ``weighted``/``delta_m`` combined with others, or bad weights.

    Example:
        >>> from manyheads.tasks.task import Task
        >>> tasks = [Task("y", type="binary"), Task("z", type="regression")]
        >>> obj = make_objective(["y.auc"], tasks)
        >>> obj.kind, obj.directions
        ('metric', ['maximize'])
        >>> make_objective(["weighted"], tasks).value({"y": {"auc": 0.8}, "z": {"rmse": 0.4}})
        [0.2]
    """
    by_name = {t.name: t for t in tasks}
    names = list(names) or ([monitor] if monitor != "loss" else ["weighted"])
    special = [n for n in names if n in KINDS]
    if special and len(names) > 1:
        raise InvalidParameterError(
            f"--objective {special[0]} is a single objective of its own; got {names}. Pass it "
            "alone, or several TASK.METRIC for a multi-objective search."
        )
    if special:
        targets = [(t.name, *_primary(t)) for t in tasks]
        kind = special[0]
        w = _weights(weights or {}, by_name) if kind == "weighted" else ()
        return Objective(
            kind, tuple((t, m) for t, m, _ in targets), tuple(h for *_, h in targets), w
        )
    if weights:
        raise InvalidParameterError("--weights applies to --objective weighted only.")
    pairs = [_target(n, by_name) for n in names]
    if len(set(pairs)) != len(pairs):
        raise InvalidParameterError(f"--objective names a metric twice: {names}.")
    return Objective(
        "metric" if len(pairs) == 1 else "multi",
        tuple((t, m) for t, m, _ in pairs),
        tuple(h for *_, h in pairs),
    )


def _target(name: str, tasks: dict[str, Task]) -> tuple[str, str, bool]:
    from manyheads.tasks._registry import get_task_type

    task_name, dot, metric = name.partition(".")
    if not dot or task_name not in tasks:
        valid = [*KINDS, *(f"{t}.METRIC" for t in tasks)]
        raise InvalidParameterError(
            f"--objective '{name}' must be weighted, delta_m or TASK.METRIC with a task of the "
            f"config.{did_you_mean(task_name, list(tasks))} Valid: {', '.join(valid)}."
        )
    task = tasks[task_name]
    task_type = get_task_type(task.type)
    metrics = list(task_type.metric_names(task))
    if metric not in metrics:
        raise InvalidParameterError(
            f"--objective '{name}': task '{task_name}' ({task.type}) has no metric '{metric}'."
            f"{did_you_mean(metric, metrics)} Its metrics: {', '.join(metrics)} (add one to "
            f"the task's 'metrics' in the config to search on it)."
        )
    return task_name, metric, bool(task_type.metric_directions[metric])


def _weights(weights: dict[str, float], tasks: dict[str, Task]) -> tuple[float, ...]:
    for name, w in weights.items():
        if name not in tasks:
            raise InvalidParameterError(
                f"--weights names no task of the config: '{name}'."
                f"{did_you_mean(name, list(tasks))} Tasks: {', '.join(tasks)}."
            )
        if not (math.isfinite(w) and w >= 0):
            raise InvalidParameterError(f"--weights {name}={w}: a weight must be finite and >= 0.")
    out = tuple(float(weights.get(t, 1.0)) for t in tasks)
    if sum(out) <= 0:
        raise InvalidParameterError("--weights: at least one weight must be > 0.")
    return out
