"""Model selection refuses a monitor that the validation labels leave undefined (NaN)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import manyheads as mh
from manyheads.data.tensors import EncodedTable
from manyheads.engine import check_monitor, validation_score
from manyheads.errors import DataWarning, InvalidParameterError
from manyheads.tasks import FittedTask


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "y": (x > 0).astype(int), "z": 2.0 * x})


def _fit(valid: pd.DataFrame, monitor: str) -> mh.Run:
    return mh.fit(
        _frame(60, 0),
        valid=valid,
        tasks=[mh.Task("y", type="binary"), mh.Task("z", type="regression")],
        inputs={"x": "numeric"},
        epochs=1,
        batch_size=32,
        monitor=monitor,
    )


def test_auc_with_one_validation_class_is_refused_before_training() -> None:
    valid = _frame(20, 1).assign(y=1)
    with pytest.raises(
        InvalidParameterError,
        match=r"'y\.auc' \(train\.monitor\) is NaN on the 20 labelled validation row\(s\) of "
        r"task 'y'.*auc needs both classes.*Set train\.monitor to loss or one of y\.accuracy",
    ):
        _fit(valid, "y.auc")


def test_a_monitored_task_without_validation_labels_is_refused() -> None:
    valid = _frame(20, 1).assign(z=np.nan)
    with pytest.raises(
        InvalidParameterError,
        match=r"'z\.rmse' \(train\.monitor\) is undefined: task 'z' has no labelled row in the "
        r"validation rows",
    ):
        _fit(valid, "z.rmse")


def test_with_loss_a_task_without_validation_labels_warns_and_does_not_count() -> None:
    valid = _frame(20, 1).assign(z=np.nan)
    with pytest.warns(DataWarning, match=r"task 'z' has no labelled row in the validation rows"):
        run = _fit(valid, "loss")
    assert run.metrics["best_epoch"] == 1


def test_with_loss_no_labelled_validation_row_at_all_is_refused() -> None:
    valid = _frame(20, 1).assign(y=np.nan, z=np.nan)
    with pytest.raises(InvalidParameterError, match=r"No task has a labelled row"):
        _fit(valid, "loss")


def test_the_validation_loss_leaves_out_tasks_without_labels() -> None:
    tasks = [
        FittedTask(mh.Task(name, type="regression"), {"mean": 0.0, "std": 1.0}) for name in "ab"
    ]
    table = EncodedTable(
        x={},
        y={"a": torch.tensor([1.0, 3.0]), "b": torch.zeros(2)},
        mask={"a": torch.ones(2, dtype=torch.bool), "b": torch.zeros(2, dtype=torch.bool)},
        n_rows=2,
    )
    outputs = {"a": torch.zeros(2), "b": torch.zeros(2)}
    assert validation_score(outputs, table, tasks, "loss") == pytest.approx(5.0)
    with pytest.warns(DataWarning, match="task 'b'"):
        check_monitor(table, tasks, "loss")


def test_a_tagging_monitor_with_a_crf_is_checked_on_its_own_output_shape() -> None:
    task = mh.Task("ner", type="tagging", scheme="bio", crf=True)
    table = EncodedTable(
        x={},
        y={"ner": torch.tensor([[0, 1]])},
        mask={"ner": torch.tensor([[True, True]])},
        n_rows=1,
    )
    check_monitor(table, [FittedTask(task, {"tags": ["B-PER", "O"]})], "ner.f1")
