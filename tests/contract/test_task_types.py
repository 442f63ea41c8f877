"""Every registered task type passes the same battery (scikit-learn ``check_estimator`` style).

Each type declares a few labelled rows (``TaskType.example``); the battery adds an unlabelled row
and an input (a numeric column for row-level types, a ``tokens`` column with one word per label
for token-level ones), fits the label state, builds a model with the type's head and checks the
contract of :class:`~manyheads.tasks.TaskType`: encoding masks the unlabelled row, the loss is a
finite scalar that ignores unlabelled rows, a batch without labels gives loss 0 and finite
gradients, every metric is computed, predictions have one entry per row. A new type is covered
as soon as it is registered.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from manyheads.architectures import build_model
from manyheads.architectures.base import MTLModel
from manyheads.data import EncodedTable, TablePreprocessor
from manyheads.tasks import TASK_TYPES, FittedTask, Task, TaskType, get_task_type, list_task_types
from manyheads.tasks._registry import _INSTANCES

TYPES = list_task_types()
TOKENS = {"mode": "sequence", "vocab_size": 40, "min_count": 1}
DOC = Path(__file__).resolve().parents[2] / "docs" / "extending.md"


def doc_blocks(section: str) -> list[str]:
    """The fenced ```py blocks of the section ``section`` of ``docs/extending.md``."""
    text = DOC.read_text(encoding="utf-8").split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```py\n(.*?)^```$", text, flags=re.DOTALL | re.MULTILINE)


def _task(task_type: TaskType) -> Task:
    columns = tuple(task_type.example.cells)
    where = {"columns": columns} if task_type.multi_column else {"column": columns[0]}
    return Task("t", type=task_type.name, **where, **task_type.example.fields)


def _frame(task_type: TaskType) -> pd.DataFrame:
    """The example's rows, then one row without labels; the input column comes first."""
    cells = {col: [*values, None] for col, values in task_type.example.cells.items()}
    n_rows = len(next(iter(cells.values())))
    if task_type.level == "token":  # one word per label, two words in the unlabelled row
        lengths = [len(c) if isinstance(c, list) else 2 for c in next(iter(cells.values()))]
        inputs: dict[str, list[object]] = {"words": [[f"w{j}" for j in range(n)] for n in lengths]}
    else:
        inputs = {"x": [float(i) for i in range(n_rows)]}
    frame = pd.DataFrame({**inputs, **cells}, index=pd.RangeIndex(2, 2 + n_rows))
    frame.attrs["path"] = "example.jsonl"
    return frame


def _fitted(name: str) -> tuple[FittedTask, EncodedTable, MTLModel]:
    task_type = get_task_type(name)
    task, frame = _task(task_type), _frame(task_type)
    token = task_type.level == "token"
    inputs = {"words": "tokens"} if token else {"x": "numeric"}
    pre = TablePreprocessor(inputs, [task], text_options=TOKENS if token else None).fit(frame)
    options = {"encoder": "bilstm", "encoder_options": {"hidden": 4}} if token else {}
    torch.manual_seed(0)
    model = build_model("hps", pre.spec, pre.fitted_tasks, {"hidden": [4], **options})
    return pre.fitted_tasks[0], pre.transform(frame), model


@pytest.mark.parametrize("name", TYPES)
def test_the_unlabelled_row_is_masked_and_the_labelled_ones_are_not(name: str) -> None:
    _, table, _ = _fitted(name)
    rows = table.mask["t"].reshape(table.n_rows, -1).any(dim=1)
    assert rows.tolist() == [True] * (table.n_rows - 1) + [False]
    assert table.y["t"].shape[:1] == table.mask["t"].shape[:1] == (table.n_rows,)


@pytest.mark.parametrize("name", TYPES)
def test_the_head_output_has_a_row_per_input_row_and_the_type_width(name: str) -> None:
    fitted, table, model = _fitted(name)
    task_type = fitted.task_type
    output = model(table.x)["t"]
    width = fitted.out_dim
    assert output.shape[0] == table.n_rows
    if task_type.level == "token":  # [N, W, C]; a CRF's transition rows ride along after the words
        assert output.shape[2] == width
        assert output.shape[1] >= table.y["t"].shape[1]
    else:
        assert output.reshape(table.n_rows, -1).shape[1] == width


@pytest.mark.parametrize("name", TYPES)
def test_the_loss_is_finite_and_ignores_unlabelled_rows(name: str) -> None:
    fitted, table, model = _fitted(name)
    output = model(table.x)["t"]
    loss = fitted.loss(output, table.y["t"], table.mask["t"])
    assert loss.dim() == 0
    assert torch.isfinite(loss)
    noise = table.y["t"].clone()  # a different target on the unlabelled row changes nothing
    noise[-1] = noise[0] if noise.dim() == 1 else noise[0, : noise.shape[1]]
    again = fitted.loss(output, noise, table.mask["t"])
    assert again.item() == pytest.approx(loss.item())


@pytest.mark.parametrize("name", TYPES)
def test_a_batch_without_labels_has_loss_zero_and_finite_gradients(name: str) -> None:
    fitted, table, model = _fitted(name)
    output = model(table.x)["t"]
    loss = fitted.loss(output, table.y["t"], torch.zeros_like(table.mask["t"]))
    loss.backward()
    assert loss.item() == 0.0
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert all(torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("name", TYPES)
def test_every_metric_is_computed_on_a_tiny_batch(name: str) -> None:
    fitted, table, model = _fitted(name)
    with torch.no_grad():
        output = model(table.x)["t"]
    scores = fitted.score(output, table.y["t"], table.mask["t"])
    details = fitted.task_type.detail_names(fitted.task, fitted.state)
    assert set(scores) == {*fitted.task_type.metric_names(fitted.task), "n", *details}
    assert scores["n"] == int(table.mask["t"].sum())
    assert all(not math.isnan(v) for v in scores.values())


@pytest.mark.parametrize("name", TYPES)
def test_predictions_have_one_entry_per_row(name: str) -> None:
    fitted, table, model = _fitted(name)
    words = next((v for k, v in table.x.items() if k.startswith("wmask:")), None)
    with torch.no_grad():
        columns = fitted.predict(model(table.x)["t"], words)
    assert columns
    assert all(len(np.asarray(v)) == table.n_rows for v in columns.values())


def test_every_registered_type_declares_labelled_example_rows() -> None:
    for name in TYPES:
        cells = get_task_type(name).example.cells
        assert len({len(v) for v in cells.values()}) == 1, name


@pytest.fixture
def _doc_type() -> Iterator[None]:
    """Take the doc's runtime registration out again, so the registry stays as shipped."""
    yield
    TASK_TYPES._docs.pop("count", None)
    TASK_TYPES._factories.pop("count", None)
    _INSTANCES.pop("count", None)


@pytest.mark.usefixtures("_doc_type")
def test_the_task_type_of_the_extending_doc_passes_the_battery() -> None:
    namespace: dict[str, Any] = {"__name__": "extending_doc"}
    for block in doc_blocks("Add a task type"):
        exec(compile(block, str(DOC), "exec"), namespace)
    for check in (
        test_the_unlabelled_row_is_masked_and_the_labelled_ones_are_not,
        test_the_head_output_has_a_row_per_input_row_and_the_type_width,
        test_the_loss_is_finite_and_ignores_unlabelled_rows,
        test_a_batch_without_labels_has_loss_zero_and_finite_gradients,
        test_every_metric_is_computed_on_a_tiny_batch,
        test_predictions_have_one_entry_per_row,
    ):
        check("count")


#: A non-default value of each optional Task field (``OPTIONAL_FIELDS``).
SET = {
    "loss": "mse",
    "label_smoothing": 0.1,
    "class_weight": "balanced",
    "positive": "1",
    "scheme": "bio",
    "crf": True,
    "image_size": (28, 28),
    "threshold": 0.3,
}


@pytest.mark.parametrize("name", TYPES)
def test_a_field_the_type_does_not_take_is_refused_by_name(name: str) -> None:
    import dataclasses

    from manyheads.errors import InvalidParameterError
    from manyheads.tasks._base import OPTIONAL_FIELDS

    assert set(SET) == set(OPTIONAL_FIELDS)
    task_type = get_task_type(name)
    task = _task(task_type)
    refused = [key for key in OPTIONAL_FIELDS if key not in task_type.extra_fields]
    for key in refused:
        with pytest.raises(InvalidParameterError, match=f"does not take .*'{key}'"):
            dataclasses.replace(task, **{key: SET[key]})
