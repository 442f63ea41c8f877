"""``compare``'s per-variant summary: the inference column is a median, not a pooled sum."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from manyheads.workflow._summary import summarise as _summarise


def _run(seed: int, seconds: float, rows: int = 1000) -> Any:
    metrics = {
        "architecture": "hps",
        "weighting": "ew",
        "seed": seed,
        "n_parameters": 10,
        "train_seconds": 1.0,
        "inference_seconds": seconds,
        "inference_rows": rows,
        "best_epoch": 1,
        "tasks": {"y": {"primary": "auc", "higher_is_better": True, "n": rows, "auc": 0.9}},
    }
    return SimpleNamespace(metrics=metrics, directory=f"run{seed}")


def test_one_slow_run_does_not_set_the_inference_column() -> None:
    # three runs of one model size: 5.6 ms, 5.8 ms and one pass slowed 250x by another process
    runs = [_run(0, 0.0056), _run(1, 0.0058), _run(2, 1.384)]
    summary = _summarise("hps", runs)
    assert summary["inference_ms_per_1k"] == pytest.approx(5.8)


def test_inference_column_is_per_1k_rows() -> None:
    summary = _summarise("hps", [_run(0, 0.010, rows=2000)])
    assert summary["inference_ms_per_1k"] == pytest.approx(5.0)
