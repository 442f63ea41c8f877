"""``compare``'s per-variant summary: the inference column is a median, not a pooled sum."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from manyheads.workflow._summary import summarise as _summarise


def _run(seed: int, seconds: float, rows: int = 1000) -> Any:
    metrics = {
        "architecture": "hps",
        "method": "ew",
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


# -- compare --baselines: the baselines' rows and the Δm% against each -----------------------


def _scores(auc: float, r2: float) -> dict[str, Any]:
    from manyheads.baselines import TaskScores

    return {
        "y": TaskScores("auc", True, {"auc": 0.0, "n": 5}, {"auc": auc, "n": 40}, 90, 0.5, "m"),
        "r": TaskScores("r2", True, {"r2": 0.0, "n": 5}, {"r2": r2, "n": 40}, 80, 0.25, "m"),
    }


def _baseline(name: str, seeds: list[tuple[float, float]]) -> list[Any]:
    from manyheads.baselines import BaselineResult

    return [
        BaselineResult(name, f"{name} models", seed, _scores(auc, r2), 1.0 + seed)
        for seed, (auc, r2) in enumerate(seeds)
    ]


def _variant(name: str, per_seed: dict[str, list[float]]) -> dict[str, Any]:
    from manyheads.workflow._summary import task_summary

    return {
        "name": name,
        "seeds": list(range(len(per_seed["y"]))),
        "n_parameters": 1000,
        "train_seconds": 2.0,
        "inference_ms_per_1k": 3.0,
        "tasks": {
            "y": task_summary("auc", True, {"auc": per_seed["y"]}, 40),
            "r": task_summary("r2", True, {"r2": per_seed["r"]}, 40),
        },
    }


def test_baseline_row_reads_as_a_variant_row() -> None:
    from manyheads.workflow._baseline_rows import baseline_row

    row = baseline_row("gbdt", _baseline("gbdt", [(0.8, 0.3), (0.9, 0.5)]))
    assert row["seeds"] == [0, 1]
    assert row["train_seconds"] == pytest.approx(1.5)
    y = row["tasks"]["y"]
    assert y["per_seed"] == [0.8, 0.9]
    assert y["mean"] == pytest.approx(0.85)
    assert y["std"] == pytest.approx(0.05)
    assert y["metrics"] == {"auc": {"mean": pytest.approx(0.85), "std": pytest.approx(0.05)}}
    assert (y["n"], y["n_train"], y["model"]) == (40, 90, "m")
    assert "n_parameters" not in row


def test_delta_m_of_the_baselines_and_against_them() -> None:
    from manyheads.workflow._baseline_rows import add_baseline_delta_m, baseline_row
    from manyheads.workflow._summary import add_delta_m, delta_m

    stl = _variant("stl", {"y": [0.8], "r": [0.2]})
    hps = _variant("hps+ew", {"y": [0.88], "r": [0.3]})
    runs: Any = {v["name"]: [SimpleNamespace(metrics={})] for v in (stl, hps)}
    add_delta_m([stl, hps], runs)
    gbdt = baseline_row("gbdt", _baseline("gbdt", [(0.9, -0.1)]))
    add_baseline_delta_m([stl, hps], [gbdt])
    higher = {"y": True, "r": True}
    # against stl: auc relative, r2 absolute (SIGNED_METRICS)
    expected = delta_m({"y": 0.9, "r": -0.1}, {"y": 0.8, "r": 0.2}, higher, absolute={"r"})
    assert gbdt["delta_m"]["per_seed"] == [pytest.approx(expected)]
    assert gbdt["delta_m"]["absolute_tasks"] == ["r"]
    # hps against gbdt: -100 * ((0.88 - 0.9) / 0.9 + (0.3 - (-0.1))) / 2
    against = hps["delta_m_baselines"]["gbdt"]
    assert against["mean"] == pytest.approx(-100 * ((0.88 - 0.9) / 0.9 + 0.4) / 2)
    assert gbdt["delta_m_baselines"]["gbdt"]["mean"] == pytest.approx(0.0)
    assert "gbdt" in stl["delta_m_baselines"]


def test_table_puts_the_baselines_beside_stl(tmp_path: Path) -> None:
    from manyheads.workflow._baseline_rows import add_baseline_delta_m, baseline_row
    from manyheads.workflow._summary import Comparison, add_delta_m

    variants = [
        _variant("stl", {"y": [0.8], "r": [0.2]}),
        _variant("hps+ew", {"y": [0.9], "r": [0.3]}),
    ]
    runs: Any = {v["name"]: [SimpleNamespace(metrics={})] for v in variants}
    add_delta_m(variants, runs)
    rows = [baseline_row(n, _baseline(n, [(0.85, 0.25)])) for n in ("gbdt", "linear")]
    add_baseline_delta_m(variants, rows)
    lines = Comparison("test", variants, tmp_path, rows).table().splitlines()
    assert lines[0] == (
        "| variant | y (auc) | r (r2) | Δm% vs stl | Δm% vs gbdt | Δm% vs linear | params "
        "| train s | infer ms/1k rows |"
    )
    assert [line.split(" | ")[0] for line in lines[2:]] == [
        "| stl",
        "| gbdt",
        "| linear",
        "| hps+ew",
    ]
    assert lines[3].endswith("| +0.00 ± 0.00 | +0.00 ± 0.00 | — | 1.0 | — |")  # gbdt
    assert lines[3].startswith("| gbdt | 0.8500 ± 0.0000 | 0.2500 ± 0.0000 |")


def test_no_baselines_adds_no_key() -> None:
    from manyheads.workflow._baseline_rows import add_baseline_delta_m

    variants = [_variant("stl", {"y": [0.8], "r": [0.2]})]
    add_baseline_delta_m(variants, [])
    assert "delta_m_baselines" not in variants[0]


def test_baselines_get_the_per_source_delta_m_of_a_multi_source_comparison() -> None:
    from manyheads.workflow._baseline_rows import add_baseline_delta_m, baseline_row
    from manyheads.workflow._summary import delta_m

    stl = _variant("stl", {"y": [0.8], "r": [0.2]})
    stl["delta_m_sources"] = {"one": {"mean": 0.0, "std": 0.0, "tasks": ["y"]}}
    gbdt = baseline_row("gbdt", _baseline("gbdt", [(0.9, 0.4)]))
    add_baseline_delta_m([stl], [gbdt])
    expected = delta_m({"y": 0.9}, {"y": 0.8}, {"y": True})
    assert gbdt["delta_m_sources"] == {
        "one": {"mean": pytest.approx(expected), "std": 0.0, "tasks": ["y"]}
    }
