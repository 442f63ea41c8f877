"""A comparison's outcome (:class:`Comparison`): its rows, its Markdown table and
``comparison.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from manyheads._files import atomic_write_text
from manyheads.workflow._run_metrics import json_safe

__all__ = ["Comparison", "save_json"]


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
