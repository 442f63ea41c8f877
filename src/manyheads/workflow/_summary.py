"""Δm% and the summary of a comparison: per variant, every metric's mean ± std over seeds.

For each variant and task it reports the mean ± std over seeds of every metric (on the test split
when there is one, else validation; model selection always on validation), parameters, training
time, inference time, and Δm% against ``stl`` (Maninis et al. 2019; Navon et al. 2022):

    Δm% = (100 / T) · Σ_t (−1)^{h_t} (M_t − M_t^stl) / M_t^stl,   h_t = 1 if higher is better,

on each task's primary metric (for a metric that can be <= 0, such as r2, or a baseline <= 0:
the absolute difference ×100 instead, see :func:`delta_m`). Negative Δm% means better than
single-task models.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from manyheads._files import atomic_write_text
from manyheads.workflow._run import Run, json_safe

__all__ = [
    "SIGNED_METRICS",
    "Comparison",
    "TaskWeights",
    "absolute_tasks",
    "add_delta_m",
    "add_weighted_delta_m",
    "check_task_weights",
    "delta_m",
    "save_json",
    "summarise",
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


@dataclass
class Comparison:
    """The outcome of :func:`compare`: one entry per variant, and where the reports are.

    ``baselines`` holds one entry per baseline of ``compare --baselines`` (``gbdt``,
    ``linear``): its metrics, train time and Δm% against ``stl``; each row then also has its
    Δm% against each baseline (``delta_m_baselines``).
    """

    split: str
    variants: list[dict[str, Any]]
    directory: Path
    baselines: list[dict[str, Any]] = field(default_factory=list)
    task_weights: dict[str, float] | None = None

    def rows(self) -> list[dict[str, Any]]:
        """The rows of the report: ``stl``, the baselines beside it, then the other variants."""
        return self.variants[:1] + self.baselines + self.variants[1:]

    def table(self) -> str:
        """A Markdown table: variant, per-task primary metric mean ± std, Δm%, size, time."""
        first = self.variants[0]
        tasks = list(first["tasks"])
        sources = list(first.get("delta_m_sources", {}))
        against = [b["name"] for b in self.baselines]
        head = [
            "variant",
            *[f"{t} ({first['tasks'][t]['primary']})" for t in tasks],
            "Δm% vs stl",
            *(["weighted Δm% vs stl"] if self.task_weights is not None else []),
            *[f"Δm% {s}" for s in sources],
            *[f"Δm% vs {b}" for b in against],
            "params",
            "train s",
            "infer ms/1k rows",
        ]
        rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for v in self.rows():
            cells = [
                v["name"],
                *[f"{v['tasks'][t]['mean']:.4f} ± {v['tasks'][t]['std']:.4f}" for t in tasks],
                _delta_cell(v.get("delta_m")),
                *(
                    [_delta_cell(v.get("weighted_delta_m"))]
                    if self.task_weights is not None
                    else []
                ),
                *[_delta_cell(v.get("delta_m_sources", {}).get(s)) for s in sources],
                *[_delta_cell(v.get("delta_m_baselines", {}).get(b)) for b in against],
                "—" if "n_parameters" not in v else f"{v['n_parameters']:,}",
                f"{v['train_seconds']:.1f}",
                "—" if "inference_ms_per_1k" not in v else f"{v['inference_ms_per_1k']:.2f}",
            ]
            rows.append("| " + " | ".join(cells) + " |")
        return "\n".join(rows)


def _delta_cell(entry: dict[str, Any] | None) -> str:
    """A Δm% cell: mean ± std, or a dash where the row has none."""
    return "—" if entry is None else f"{entry['mean']:+.2f} ± {entry['std']:.2f}"


def _number(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def task_summary(
    primary: str, higher_is_better: bool, values: dict[str, list[float]], n: float
) -> dict[str, Any]:
    """One task's entry of a row: the primary metric per seed, every metric's mean ± std.

    Example:
        >>> entry = task_summary("auc", True, {"auc": [0.8, 0.9]}, 100)
        >>> round(entry["mean"], 6), round(entry["std"], 6), entry["n"]
        (0.85, 0.05, 100)
    """
    return {
        "primary": primary,
        "higher_is_better": higher_is_better,
        "mean": float(np.mean(values[primary])),
        "std": float(np.std(values[primary])),
        "per_seed": values[primary],
        "metrics": {
            m: {"mean": float(np.mean(v)), "std": float(np.std(v))} for m, v in values.items()
        },
        "n": n,
    }


def summarise(name: str, runs: list[Run]) -> dict[str, Any]:
    """One variant's entry of ``comparison.json``: every metric's mean ± std over seeds."""
    first = runs[0].metrics
    assert first is not None
    tasks: dict[str, Any] = {}
    for task, entry in first["tasks"].items():
        metrics = [k for k in entry if k not in ("primary", "higher_is_better", "n")]
        values = {
            # an undefined metric (AUC on one class) is NaN, saved as null in metrics.json
            m: [_number(r.metrics["tasks"][task][m]) for r in runs if r.metrics]
            for m in metrics
        }
        tasks[task] = task_summary(entry["primary"], entry["higher_is_better"], values, entry["n"])
    # the median over seeds of each run's median pass: one slow pass (another process, a cold
    # cache) no longer sets the column, as a pooled sum let it
    per_1k = [
        1e6 * r.metrics["inference_seconds"] / max(1, r.metrics["inference_rows"])
        for r in runs
        if r.metrics
    ]
    return {
        "name": name,
        "architecture": first["architecture"],
        "method": first["method"],
        "seeds": [r.metrics["seed"] for r in runs if r.metrics],
        "n_parameters": first["n_parameters"],
        "train_seconds": float(np.mean([r.metrics["train_seconds"] for r in runs if r.metrics])),
        "inference_ms_per_1k": float(np.median(per_1k)),
        "best_epochs": [r.metrics["best_epoch"] for r in runs if r.metrics],
        "tasks": tasks,
        "runs": [str(r.directory) for r in runs],
    }


def delta_m_entry(row: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    """Δm% of a row (a variant or a baseline) against the means of ``reference``, per seed of
    the row and their mean ± std, with the tasks scored by absolute difference."""
    baseline = {t: m["mean"] for t, m in reference["tasks"].items()}
    higher = {t: m["higher_is_better"] for t, m in reference["tasks"].items()}
    absolute = absolute_tasks({t: m["primary"] for t, m in reference["tasks"].items()}, baseline)
    per_seed = [
        delta_m(
            {t: m["per_seed"][i] for t, m in row["tasks"].items()},
            baseline,
            higher,
            absolute=absolute,
        )
        for i in range(len(row["seeds"]))
    ]
    return {
        "mean": float(np.mean(per_seed)),
        "std": float(np.std(per_seed)),
        "per_seed": per_seed,
        "absolute_tasks": sorted(absolute & set(row["tasks"])),
    }


def add_weighted_delta_m(rows: list[dict[str, Any]], weights: dict[str, float]) -> None:
    """Add the weighted Δm% against ``stl`` (:func:`weighted_delta_m`) to every row, per seed
    of the row and their mean ± std, with the weight each task had (1 where none was given)."""
    base = next(v for v in rows if v["name"] == "stl")
    baseline = {t: m["mean"] for t, m in base["tasks"].items()}
    higher = {t: m["higher_is_better"] for t, m in base["tasks"].items()}
    absolute = absolute_tasks({t: m["primary"] for t, m in base["tasks"].items()}, baseline)
    full = {t: float(weights.get(t, 1.0)) for t in base["tasks"]}
    for row in rows:
        per_seed = [
            weighted_delta_m(
                {t: m["per_seed"][i] for t, m in row["tasks"].items()},
                baseline,
                higher,
                full,
                absolute=absolute,
            )
            for i in range(len(row["seeds"]))
        ]
        row["weighted_delta_m"] = {
            "mean": float(np.mean(per_seed)),
            "std": float(np.std(per_seed)),
            "per_seed": per_seed,
            "weights": full,
        }


def add_delta_m(variants: list[dict[str, Any]], runs: dict[str, list[Run]]) -> None:
    """Add Δm% against ``stl`` to each variant (per source too, for a multi-source run)."""
    base = next(v for v in variants if v["name"] == "stl")
    baseline = {t: m["mean"] for t, m in base["tasks"].items()}
    higher = {t: m["higher_is_better"] for t, m in base["tasks"].items()}
    absolute = absolute_tasks({t: m["primary"] for t, m in base["tasks"].items()}, baseline)
    for v in variants:
        v["delta_m"] = delta_m_entry(v, base)
        first = runs[v["name"]][0].metrics or {}
        if "sources" in first:  # Δm of each source's own tasks, on its own test split
            v["delta_m_sources"] = {}
            for src, entry in first["sources"].items():
                own = list(entry["tasks"])
                seeds = [
                    delta_m(
                        {t: v["tasks"][t]["per_seed"][i] for t in own},
                        {t: baseline[t] for t in own},
                        higher,
                        absolute=absolute,
                    )
                    for i in range(len(v["seeds"]))
                ]
                v["delta_m_sources"][src] = {
                    "mean": float(np.mean(seeds)),
                    "std": float(np.std(seeds)),
                    "tasks": own,
                }


def save_json(comparison: Comparison) -> Path:
    """Write ``comparison.json``."""
    path = comparison.directory / "comparison.json"
    data: dict[str, Any] = {
        "split": comparison.split,
        "model_selection": "validation",
        "delta_m_baseline": "stl",
        "delta_m_note": "negative is better than single-task",
        "variants": comparison.variants,
    }
    if comparison.task_weights is not None:
        tasks = comparison.variants[0]["tasks"]
        data["task_weights"] = {t: float(comparison.task_weights.get(t, 1.0)) for t in tasks}
        data["weighted_delta_m_note"] = (
            "weighted_delta_m: sum_t w_t d_t / sum_t w_t, d_t being task t's term of delta_m "
            "against stl; negative is better"
        )
    if comparison.baselines:
        data["baselines"] = comparison.baselines
        data["baselines_note"] = (
            "one scikit-learn model per task on the same splits and inputs, once per seed; "
            "delta_m is against stl, delta_m_baselines (of every row) against each baseline"
        )
    atomic_write_text(path, json.dumps(json_safe(data), indent=2, allow_nan=False))
    return path
