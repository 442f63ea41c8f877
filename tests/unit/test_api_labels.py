"""Labels through the Python API: predictions in the label column's type, unseen classes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import manyheads as mh
from manyheads.errors import DataWarning, InvalidParameterError


def _frame(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "y": (x > 0).astype(int)})


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        (lambda y: y, (np.integer, {0, 1})),
        (lambda y: y.astype(float).where(y.index % 7 != 0), (np.floating, {0.0, 1.0})),
        (lambda y: y.map({0: "no", 1: "yes"}), (str, {"no", "yes"})),
    ],
    ids=["int", "float-with-missing", "str"],
)
def test_binary_predictions_carry_the_label_columns_type(
    column: object, expected: tuple[type, set[object]]
) -> None:
    frame = _frame()
    frame["y"] = column(frame["y"])  # type: ignore[operator]
    run = mh.fit(frame, tasks=[mh.Task("y", type="binary")], epochs=2, batch_size=32)
    predicted = run.predict(frame[["x"]])["y"]
    kind, values = expected
    assert all(isinstance(v, kind) for v in predicted.to_numpy())
    assert set(predicted.tolist()) <= values


def test_a_class_unseen_in_training_warns_in_fit_and_counts_as_wrong() -> None:
    train = _frame()
    train["c"] = np.where(train["y"] == 1, "up", "down")
    test = train.head(10).copy()
    test.loc[test.index[:3], "c"] = "sideways"
    tasks = [mh.Task("c", type="multiclass")]
    with pytest.warns(
        DataWarning, match=r"3 rows of task 'c' carry classes never seen.*'sideways'"
    ):
        run = mh.fit(train, test=test, tasks=tasks, inputs={"x": "numeric"}, epochs=1)
    assert run.metrics["tasks"]["c"]["n"] == 10
    assert run.metrics["tasks"]["c"]["accuracy"] <= 0.7


def test_unseen_labels_must_be_warn_or_error() -> None:
    from manyheads.data.preprocess import TablePreprocessor

    with pytest.raises(InvalidParameterError, match=r"'unseen_labels' setting must be one of"):
        TablePreprocessor({"x": "numeric"}, [], unseen_labels="ignore")
