"""Δm% against a baseline: the formula, its weighted form, the tasks it scores by absolute
difference, and the task weights of ``compare --task-weights``.

    Δm% = (100 / T) · Σ_t (−1)^{h_t} (M_t − M_t^stl) / M_t^stl,   h_t = 1 if higher is better

(Maninis et al. 2019; Navon et al. 2022), on each task's primary metric.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "SIGNED_METRICS",
    "TaskWeights",
    "absolute_tasks",
    "check_task_weights",
    "delta_m",
    "weighted_delta_m",
]


#: primary metrics whose values can be zero or negative (a model worse than the mean predicts
#: r2 < 0): a relative difference to them has no meaning, so Δm% uses their absolute difference.
SIGNED_METRICS = frozenset({"r2"})


def delta_m(
    metrics: dict[str, float],
    baseline: dict[str, float],
    higher_is_better: dict[str, bool],
    *,
    absolute: frozenset[str] | set[str] = frozenset(),
) -> float:
    r"""Δm% of ``metrics`` against ``baseline`` over their shared tasks (negative is better).

    Each task contributes :math:`(-1)^{h_t} \cdot 100 (M_t - B_t) / B_t` (Maninis et al. 2019;
    Navon et al. 2022), :math:`h_t = 1` when higher is better, and Δm% is their mean. That
    relative difference needs a positive baseline: for a task in ``absolute`` (a metric that can
    be zero or negative, such as r2: :data:`SIGNED_METRICS`) or whose baseline is ``<= 0``, the
    task contributes :math:`(-1)^{h_t} \cdot 100 (M_t - B_t)` instead, the absolute difference
    in hundredths of the metric (an r2 from -0.2 to 0.1 counts -30, better, where the relative
    rule would read +150, worse; a zero baseline no longer divides by zero). The report names
    the tasks scored this way (:func:`absolute_tasks`).

    Example:
        >>> delta_m({"a": 0.9, "b": 1.0}, {"a": 0.8, "b": 2.0}, {"a": True, "b": False})
        -31.25
        >>> round(delta_m({"r": 0.1}, {"r": -0.2}, {"r": True}, absolute={"r"}), 6)
        -30.0
    """
    terms = []
    for task, value in metrics.items():
        base = baseline[task]
        sign = -1.0 if higher_is_better[task] else 1.0
        if task in absolute or base <= 0:
            terms.append(sign * (value - base))
        else:
            terms.append(sign * (value - base) / base)
    return float(100.0 * np.mean(terms))


def weighted_delta_m(
    metrics: dict[str, float],
    baseline: dict[str, float],
    higher_is_better: dict[str, bool],
    weights: dict[str, float],
    *,
    absolute: frozenset[str] | set[str] = frozenset(),
) -> float:
    r"""The weighted mean of the per-task terms of :func:`delta_m` (negative is better).

    :math:`\sum_t w_t d_t / \sum_t w_t`, where :math:`d_t` is task ``t``'s term of Δm% (its
    relative change against the baseline, sign flipped where higher is better, ×100; absolute
    difference ×100 for a task in ``absolute`` or a baseline ``<= 0``). Equal weights give Δm%
    itself; a task missing from ``weights`` weighs 1.

    Example:
        >>> metrics, base = {"a": 0.9, "b": 1.0}, {"a": 0.8, "b": 2.0}
        >>> higher = {"a": True, "b": False}
        >>> weighted_delta_m(metrics, base, higher, {"a": 1.0, "b": 1.0})
        -31.25
        >>> round(weighted_delta_m(metrics, base, higher, {"a": 3.0, "b": 1.0}), 6)
        -21.875
    """
    total, weight_sum = 0.0, 0.0
    for task, value in metrics.items():
        weight = weights.get(task, 1.0)
        term = delta_m({task: value}, {task: baseline[task]}, higher_is_better, absolute=absolute)
        total += weight * term
        weight_sum += weight
    return total / weight_sum


@dataclass(frozen=True)
class TaskWeights:
    """The task weights of ``compare --task-weights`` and where they were given (for messages).

    ``weights`` maps task names to weights >= 0; a task left out weighs 1.
    """

    weights: dict[str, float]
    source: str = "task_weights"

    def check(self, tasks: list[str]) -> None:
        """Refuse unknown task names and bad weights (:func:`check_task_weights`)."""
        check_task_weights(self.weights, tasks, where=self.source)


def check_task_weights(weights: dict[str, float], tasks: list[str], *, where: str) -> None:
    """Refuse task weights that name an unknown task, are not finite and >= 0, or are all 0.

    Raises:
        InvalidParameterError: the message names ``where`` (``--task-weights`` or the YAML key),
            the task or value at fault, the valid task names and the closest one.

    Example:
        >>> check_task_weights({"incme": 2.0}, ["income", "never_married"], where="--task-weights")
        Traceback (most recent call last):
        ...
        manyheads.errors.InvalidParameterError: --task-weights names unknown task 'incme'. \
Did you mean 'income'? The tasks of this comparison are: income, never_married.
    """
    from manyheads._registry import did_you_mean
    from manyheads.errors import InvalidParameterError

    for task, weight in weights.items():
        if task not in tasks:
            raise InvalidParameterError(
                f"{where} names unknown task '{task}'.{did_you_mean(task, tasks)} "
                f"The tasks of this comparison are: {', '.join(tasks)}."
            )
        if not isinstance(weight, int | float) or isinstance(weight, bool):
            raise InvalidParameterError(
                f"{where}: the weight of task '{task}' must be a number >= 0. Got {weight!r}."
            )
        if not np.isfinite(weight) or weight < 0:
            raise InvalidParameterError(
                f"{where}: the weight of task '{task}' must be finite and >= 0. Got {weight!r}."
            )
    if tasks and sum(weights.get(t, 1.0) for t in tasks) <= 0:
        raise InvalidParameterError(
            f"{where}: every task's weight is 0, so the weighted score is undefined. Give at "
            "least one task a positive weight (a task left out weighs 1)."
        )


def absolute_tasks(primary: dict[str, str], baseline: dict[str, float]) -> set[str]:
    """The tasks that :func:`delta_m` scores by absolute difference: a primary metric in
    :data:`SIGNED_METRICS` or a baseline ``<= 0``.

    Example:
        >>> primary, baseline = {"a": "r2", "b": "auc", "c": "f1"}, {"a": 0.3, "b": 0.7, "c": 0.0}
        >>> sorted(absolute_tasks(primary, baseline))
        ['a', 'c']
    """
    return {t for t, m in primary.items() if m in SIGNED_METRICS or baseline.get(t, 1.0) <= 0}
