"""``_bundle.py``: a bundle is strict JSON; nothing is written when it could not be."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from manyheads.architectures._registry import build_model
from manyheads.data.preprocess import TablePreprocessor
from manyheads.errors import InvalidParameterError
from manyheads.tasks import Task
from manyheads.workflow._bundle import read_bundle, write_bundle


def _parts(weight: float) -> tuple[object, list[Task], TablePreprocessor]:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]})
    tasks = [Task("y", type="binary", weight=weight)]
    pre = TablePreprocessor({"x": "numeric"}, tasks).fit(frame)
    model = build_model("hps", pre.spec, pre.fitted_tasks, {"hidden": [4]})
    return model, tasks, pre


def test_a_bundle_round_trips(tmp_path: Path) -> None:
    model, tasks, pre = _parts(1.0)
    write_bundle(
        tmp_path, model=model, architecture="hps", options={"hidden": [4]}, tasks=tasks,
        preprocessor=pre,
    )  # fmt: skip
    _, back, _, meta = read_bundle(tmp_path)
    assert [t.name for t in back] == ["y"]
    assert meta["options"] == {"hidden": [4]}


def test_a_non_finite_setting_is_named_and_nothing_written(tmp_path: Path) -> None:
    # a Task refuses a non-finite weight itself; an option can still carry one
    model, tasks, pre = _parts(1.0)
    options = {"hidden": [4], "penalty_weight": float("inf")}
    with pytest.raises(InvalidParameterError, match=r"non-finite number at 'options"):
        write_bundle(
            tmp_path / "b", model=model, architecture="hps", options=options,
            tasks=tasks, preprocessor=pre,
        )  # fmt: skip
    assert not (tmp_path / "b").exists()
