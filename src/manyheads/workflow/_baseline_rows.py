"""The rows of a comparison's baselines (``compare --baselines``) and their Δm%.

A baseline's row reads as a variant's (:func:`~manyheads.workflow._summary.summarise`): per
task, the primary metric per seed and every metric's mean ± std on the comparison's split, the
mean training time, and Δm% against ``stl`` (per source too, for multi-source data). It has no
parameter count or inference time (a scikit-learn model per task is not a network). Every row,
variants and baselines, then gets its Δm% against each baseline (``delta_m_baselines``),
computed by the same rule as against ``stl`` (:func:`~manyheads.workflow._summary.delta_m`:
absolute difference for r2 and for a baseline mean <= 0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from manyheads.workflow._summary import delta_m_entry, task_summary

if TYPE_CHECKING:
    from manyheads.baselines import BaselineResult

__all__ = ["add_baseline_delta_m", "baseline_row"]


def baseline_row(name: str, results: list[BaselineResult]) -> dict[str, Any]:
    """One baseline's entry of ``comparison.json`` from its result per seed."""
    first = results[0]
    tasks: dict[str, Any] = {}
    for task, scores in first.tasks.items():
        measured = [r.metrics()[task] for r in results]
        values = {m: [float(each[m]) for each in measured] for m in measured[0] if m != "n"}
        entry = task_summary(scores.primary, scores.higher_is_better, values, measured[0]["n"])
        tasks[task] = entry | {"n_train": scores.n_train, "model": scores.model}
    return {
        "name": name,
        "kind": "baseline",
        "description": first.description,
        "seeds": [r.seed for r in results],
        "train_seconds": float(np.mean([r.train_seconds for r in results])),
        "tasks": tasks,
    }


def add_baseline_delta_m(variants: list[dict[str, Any]], baselines: list[dict[str, Any]]) -> None:
    """Add Δm% against ``stl`` to each baseline, and to every row its Δm% against each
    baseline (no key at all when there are no baselines: the report is then as before)."""
    if not baselines:
        return
    stl = next(v for v in variants if v["name"] == "stl")
    for row in baselines:
        row["delta_m"] = delta_m_entry(row, stl)
        if "delta_m_sources" in stl:  # multi-source: each source's own tasks, as the variants
            row["delta_m_sources"] = {
                src: _source_delta(row, stl, entry["tasks"])
                for src, entry in stl["delta_m_sources"].items()
            }
    for row in variants + baselines:
        row["delta_m_baselines"] = {b["name"]: delta_m_entry(row, b) for b in baselines}


def _source_delta(row: dict[str, Any], stl: dict[str, Any], tasks: list[str]) -> dict[str, Any]:
    """Δm% against ``stl`` of one source's ``tasks`` of ``row``."""
    own = row | {"tasks": {t: row["tasks"][t] for t in tasks}}
    entry = delta_m_entry(own, stl)
    return {"mean": entry["mean"], "std": entry["std"], "tasks": tasks}
