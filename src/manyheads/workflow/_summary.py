"""The rows of a comparison: per variant, every metric's mean ± std over seeds, and its Δm%.

For each variant and task it reports the mean ± std over seeds of every metric (on the test split
when there is one, else validation; model selection always on validation), parameters, training
time, inference time, and Δm% against ``stl`` (:mod:`manyheads.workflow._delta_m`: the formula,
the tasks it scores by absolute difference, task weights). Negative Δm% means better than
single-task models. The comparison's table and ``comparison.json`` are
:mod:`manyheads.workflow._comparison`; both modules' names are re-exported here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from manyheads.workflow._comparison import Comparison, save_json
from manyheads.workflow._delta_m import (
    SIGNED_METRICS,
    TaskWeights,
    absolute_tasks,
    check_task_weights,
    delta_m,
    weighted_delta_m,
)
from manyheads.workflow._run import Run

__all__ = [
    "SIGNED_METRICS",
    "Comparison",
    "TaskWeights",
    "absolute_tasks",
    "add_delta_m",
    "add_weighted_delta_m",
    "check_task_weights",
    "delta_m",
    "delta_m_entry",
    "save_json",
    "summarise",
    "task_summary",
    "weighted_delta_m",
]


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


def _reference(row: dict[str, Any]) -> tuple[dict[str, float], dict[str, bool], set[str]]:
    """What Δm% compares a row against: the reference row's mean primary metric per task, the
    metrics' directions, and the tasks scored by absolute difference (:func:`absolute_tasks`)."""
    baseline = {t: m["mean"] for t, m in row["tasks"].items()}
    higher = {t: m["higher_is_better"] for t, m in row["tasks"].items()}
    return (
        baseline,
        higher,
        absolute_tasks({t: m["primary"] for t, m in row["tasks"].items()}, baseline),
    )


def delta_m_entry(row: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    """Δm% of a row (a variant or a baseline) against the means of ``reference``, per seed of
    the row and their mean ± std, with the tasks scored by absolute difference."""
    baseline, higher, absolute = _reference(reference)
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
    baseline, higher, absolute = _reference(base)
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
    baseline, higher, absolute = _reference(base)
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
