"""``RunMetrics``: the typed final scores, written as ``metrics.json`` in a fixed layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from manyheads.errors import DataError
from manyheads.workflow._run import RunMetrics
from manyheads.workflow._run_metrics import read_metrics


def _metrics(**more: object) -> RunMetrics:
    base: dict[str, object] = {
        "split": "test",
        "architecture": "hps",
        "method": "ew",
        "seed": 0,
        "train_seconds": 1.5,
        "inference_seconds": 0.01,
        "inference_rows": 10,
        "n_parameters": 100,
        "best_epoch": 2,
        "task_best_epochs": None,
        "epochs_run": 3,
        "tasks": {"y": {"auc": 0.9}},
        "valid": {"y": {"auc": 0.8}},
    }
    return RunMetrics(**{**base, **more})  # type: ignore[arg-type]


def test_the_layout_keeps_its_order_and_leaves_out_what_is_not_set() -> None:
    assert list(_metrics().to_dict()) == [
        "split",
        "architecture",
        "method",
        "seed",
        "train_seconds",
        "inference_seconds",
        "inference_rows",
        "n_parameters",
        "best_epoch",
        "epochs_run",
        "tasks",
        "valid",
    ]


def test_per_task_epochs_and_sources_come_where_a_run_wrote_them() -> None:
    keys = list(
        _metrics(
            task_best_epochs={"y": 1}, sources={"A": {}}, sampling={"mode": "uniform"}
        ).to_dict()
    )
    assert keys[keys.index("best_epoch") + 1] == "task_best_epochs"
    assert keys[-2:] == ["sources", "sampling"]


def test_read_metrics_reads_back_renames_and_names_a_damaged_file(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    assert read_metrics(path) is None  # a bundle without metrics loads without them
    path.write_text('{"weighting": "uw", "seed": 3}', encoding="utf-8")
    assert read_metrics(path) == {"method": "uw", "seed": 3}  # the key before 0.2, renamed
    path.write_text('{"seed": ', encoding="utf-8")
    with pytest.raises(DataError, match=r"cannot read the run's metrics \(.*\)\. Restore") as exc:
        read_metrics(path)
    assert str(path) in str(exc.value)
