"""The checks that tie config sections together, written once for the config and ``fit``."""

from __future__ import annotations

import pytest

from manyheads.config._checks import cross_problems, leaked_labels, monitor_problem
from manyheads.errors import InvalidParameterError
from manyheads.tasks import Task
from manyheads.workflow._builders import check_tasks

TASKS = [Task("y", type="binary"), Task("z", type="regression")]


def test_a_label_that_is_also_an_input_is_found_once_for_both_callers() -> None:
    inputs = {"x": "numeric", "z": "numeric"}
    assert leaked_labels(TASKS, inputs) == [("z", "z")]
    assert cross_problems(TASKS, inputs, None) == [
        "column 'z' is the label of task 'z' and also an input: remove it from 'inputs' "
        "(that would leak the label)."
    ]
    with pytest.raises(InvalidParameterError, match="Column 'z' is the label of task 'z'"):
        check_tasks(TASKS, inputs)


@pytest.mark.parametrize(
    ("monitor", "expected"),
    [
        ("loss", None),
        ("y.auc", None),
        ("q.auc", "'train.monitor' names unknown task 'q'"),
        ("z.auc", "'train.monitor' metric 'auc' is not a metric of regression task 'z'"),
    ],
)
def test_the_monitor_names_a_task_and_one_of_its_metrics(
    monitor: str, expected: str | None
) -> None:
    found = monitor_problem(TASKS, monitor)
    assert (found is None) if expected is None else (found is not None and expected in found)
