from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

from manyheads.errors import DataError, DataWarning, InvalidParameterError
from manyheads.tasks import Task, get_task_type


def _frame(values: list[object], name: str = "y") -> pd.DataFrame:
    frame = pd.DataFrame({name: values})
    frame.index = pd.RangeIndex(2, 2 + len(frame))  # CSV lines
    return frame


def test_binary_positive_is_the_larger_label_and_missing_is_masked() -> None:
    task = Task("y", type="binary")
    task_type = get_task_type("binary")
    frame = _frame(["no", "yes", "", None, "yes"])
    state = task_type.fit(task, frame, "f.csv")
    assert state["classes"] == ["no", "yes"]
    y, mask = task_type.encode(task, state, frame, "f.csv")
    assert mask.tolist() == [True, True, False, False, True]
    assert y[mask].tolist() == [0.0, 1.0, 1.0]


@pytest.mark.parametrize(("positive", "expected"), [(1, "1"), (1.0, "1"), (True, "True")])
def test_a_positive_class_written_as_a_yaml_number_matches_its_label(
    positive: object, expected: str
) -> None:
    # `positive: 1` in a config is the int 1; the labels are the strings the cells become
    task = Task("y", type="binary", positive=positive)  # type: ignore[arg-type]
    assert task.positive == expected
    frame = pd.DataFrame({"y": [2, 1, 2, 1]}) if expected == "1" else _frame([False, True])
    state = get_task_type("binary").fit(task, frame, "f.csv")
    assert state["classes"][-1] == expected


def test_binary_with_three_labels_says_use_multiclass() -> None:
    with pytest.raises(
        DataError,
        match=r"f\.csv, column 'y': task 'y' is binary but the column "
        r"has 3 distinct label\(s\) \(a, b, c\); use type multiclass",
    ):
        get_task_type("binary").fit(Task("y", type="binary"), _frame(["a", "b", "c"]), "f.csv")


def test_class_seen_only_at_test_time_names_file_line_and_column() -> None:
    task = Task("y", type="multiclass")
    task_type = get_task_type("multiclass")
    state = task_type.fit(task, _frame(["a", "b", "a"]), "train.csv")
    with pytest.raises(
        DataError,
        match=r"test\.csv, line 3, column 'y': class 'z' of task 'y' "
        r"was never seen in the training data",
    ):
        task_type.encode(task, state, _frame(["a", "z"]), "test.csv", unseen="error")


@pytest.mark.parametrize("type_", ["binary", "multiclass"])
def test_an_unseen_class_warns_and_counts_as_wrong_but_not_in_the_loss(type_: str) -> None:
    task = Task("y", type=type_)
    task_type = get_task_type(type_)
    state = task_type.fit(task, _frame(["a", "b", "a"]), "train.csv")
    with pytest.warns(
        DataWarning,
        match=r"test\.csv, line 3, column 'y': 2 rows of task 'y' carry classes never seen in "
        r"the training data: 'z' \(2\)\. They count as wrong",
    ):
        y, mask = task_type.encode(task, state, _frame(["a", "z", "z", None]), "test.csv")
    assert mask.tolist() == [True, True, True, False]
    assert y.tolist()[:3] == [0, -1, -1]
    # a perfect output on the known row: accuracy 1/3 (the unseen rows are wrong), loss of 1 row
    width = task_type.out_dim(state)
    output = torch.full((4,), -9.0) if width == 1 else torch.tensor([[9.0, -9.0]] * 4)
    scores = task_type.score(task, state, output, y, mask)
    assert scores["accuracy"] == pytest.approx(1 / 3)
    assert scores["n"] == 3
    alone = task_type.loss(task, state, output[:1], y[:1], mask[:1])
    assert task_type.loss(task, state, output, y, mask).item() == pytest.approx(alone.item())
    if type_ == "binary":  # auc and logloss leave the unseen rows out; f1 never counts them
        assert math.isnan(scores["auc"])
        assert scores["f1"] == 0.0


def test_an_unseen_class_error_lists_every_unseen_label_and_its_count() -> None:
    task = Task("y", type="multiclass")
    task_type = get_task_type("multiclass")
    state = task_type.fit(task, _frame(["a", "b"]), "train.csv")
    with pytest.raises(DataError, match=r"line 3, .*class 'z'.* 3 rows carry unseen classes: "):
        task_type.encode(task, state, _frame(["a", "z", "y", "z"]), "t.csv", unseen="error")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0, 1, 1, 0], [0, 1]),
        ([0.0, 1.0, None, 1.0], [0.0, 1.0]),
        ([0.5, 1.5, 0.5], [0.5, 1.5]),
        ([True, False, True], [False, True]),
        (["no", "yes", "no"], ["no", "yes"]),
    ],
    ids=["int", "float-with-missing", "float", "bool", "str"],
)
@pytest.mark.parametrize("type_", ["binary", "multiclass"])
def test_predictions_carry_the_label_columns_type(
    type_: str, values: list[object], expected: list[object]
) -> None:
    task = Task("y", type=type_)
    task_type = get_task_type(type_)
    state = task_type.fit(task, pd.DataFrame({"y": values}), "train.csv")
    output = torch.tensor([-3.0, 3.0]) if type_ == "binary" else torch.tensor([[3.0, 0], [0, 3.0]])
    predicted = task_type.predict(task, state, output)["y"]
    assert predicted.tolist() == expected
    assert [type(v) for v in predicted.tolist()] == [type(v) for v in expected]


def test_a_state_without_label_type_predicts_strings_as_before() -> None:
    task = Task("y", type="binary")
    state = {"classes": ["0", "1"]}
    assert get_task_type("binary").predict(task, state, torch.tensor([3.0]))["y"].tolist() == ["1"]


def test_integer_and_float_labels_map_to_the_same_class() -> None:
    task = Task("y", type="multiclass")
    task_type = get_task_type("multiclass")
    state = task_type.fit(task, _frame([1, 2, 3]), "a.csv")
    y, mask = task_type.encode(task, state, _frame([1.0, 3.0, float("nan")]), "b.csv")
    assert state["classes"] == ["1", "2", "3"]
    assert y[mask].tolist() == [0, 2]
    assert mask.tolist() == [True, True, False]


@pytest.mark.parametrize("type_", ["binary", "multiclass"])
def test_a_nullable_integer_label_column_with_missing_cells_encodes(type_: str) -> None:
    """Parquet's nullable integers (Int8 ...) with <NA> cells: masked, no TypeError."""
    task, task_type = Task("y", type=type_), get_task_type(type_)
    frame = pd.DataFrame({"y": pd.array([0, 1, None, 1], dtype="Int8")})
    state = task_type.fit(task, frame, "a.parquet")
    y, mask = task_type.encode(task, state, frame, "a.parquet")
    assert state["classes"] == ["0", "1"]
    assert mask.tolist() == [True, True, False, True]
    assert y[mask].tolist() == [0, 1, 1]


def test_regression_with_text_names_the_line() -> None:
    task = Task("price", type="regression")
    with pytest.raises(
        DataError,
        match=r"f\.csv, line 3, column 'price': regression task "
        r"'price' needs numbers, got 'cheap'",
    ):
        get_task_type("regression").fit(task, _frame([1.0, "cheap"], "price"), "f.csv")


def test_regression_is_standardised_on_train_and_inverted_at_predict() -> None:
    task = Task("v", type="regression")
    task_type = get_task_type("regression")
    frame = _frame([1.0, 3.0, 5.0], "v")
    state = task_type.fit(task, frame, "f")
    y, _ = task_type.encode(task, state, frame, "f")
    assert state["mean"] == pytest.approx(3.0)
    assert y.mean().item() == pytest.approx(0.0, abs=1e-6)
    assert task_type.predict(task, state, y)["v"].tolist() == pytest.approx([1.0, 3.0, 5.0])


@pytest.mark.parametrize("type_", ["binary", "multiclass", "regression"])
def test_a_batch_without_labels_gives_zero_finite_loss_and_gradient(type_: str) -> None:
    task = Task("y", type=type_)
    task_type = get_task_type(type_)
    frame = _frame([0, 1, 2, 0] if type_ == "multiclass" else [0, 1, 0, 1])
    state = task_type.fit(task, frame, "f")
    width = task_type.out_dim(state)
    out = torch.randn(4, width, requires_grad=True)
    head = out.squeeze(-1) if width == 1 else out
    y, _ = task_type.encode(task, state, frame, "f")
    loss = task_type.loss(task, state, head, y, torch.zeros(4, dtype=torch.bool))
    loss.backward()
    assert loss.item() == 0.0
    assert out.grad is not None
    assert torch.isfinite(out.grad).all()


def test_binary_metrics_match_sklearn_on_labelled_rows() -> None:
    task = Task("y", type="binary")
    task_type = get_task_type("binary")
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=200)
    frame = _frame(labels.tolist())
    state = task_type.fit(task, frame, "f")
    y, mask = task_type.encode(task, state, frame, "f")
    mask[:20] = False
    logits = torch.randn(200)
    scores = task_type.score(task, state, logits, y, mask)
    expected = roc_auc_score(labels[20:], torch.sigmoid(logits).numpy()[20:])
    assert scores["auc"] == pytest.approx(expected)
    assert scores["n"] == 180


def test_multilabel_needs_columns_and_scores_micro_f1() -> None:
    with pytest.raises(InvalidParameterError, match="needs 'columns'"):
        Task("g", type="multilabel")
    task = Task("g", type="multilabel", columns=["a", "b"])
    task_type = get_task_type("multilabel")
    frame = pd.DataFrame({"a": [1, 0, 1, ""], "b": [0, 1, 1, 1]})
    state = task_type.fit(task, frame, "f")
    y, mask = task_type.encode(task, state, frame, "f")
    assert mask.tolist() == [True, True, True, False]
    perfect = (y * 20 - 10).float()
    assert task_type.score(task, state, perfect, y, mask)["micro_f1"] == 1.0


def test_unknown_task_type_suggests_the_closest() -> None:
    with pytest.raises(InvalidParameterError, match="Did you mean 'binary'"):
        Task("y", type="binery")


def test_label_smoothing_out_of_range_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match=r"'label_smoothing' of task 'y' must be in"):
        Task("y", type="multiclass", label_smoothing=1.5)


def test_balanced_class_weight_upweights_the_rare_class() -> None:
    task = Task("y", type="binary", class_weight="balanced")
    state = get_task_type("binary").fit(task, _frame([0, 0, 0, 1]), "f")
    assert math.isclose(state["pos_weight"], 3.0)


@pytest.mark.parametrize("weight", [float("inf"), float("nan"), -1.0, True, "1"])
def test_a_task_weight_must_be_finite_and_not_negative(weight: object) -> None:
    with pytest.raises(InvalidParameterError, match="'weight' of task 'y' must be a finite number"):
        Task("y", type="binary", weight=weight)  # type: ignore[arg-type]
