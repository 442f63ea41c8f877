"""The loop's per-step record: which tasks had labels (one reduction), and the label shares
computed only for ``task_loss: share``."""

from __future__ import annotations

import pytest
import torch

from manyheads.data.tensors import Batch
from manyheads.engine import loop
from manyheads.tasks._fitted import FittedTask
from manyheads.tasks.task import Task


def _tasks(*names: str) -> list[FittedTask]:
    return [FittedTask(Task(n, type="binary"), {}) for n in names]


def test_labelled_flags_of_row_masks() -> None:
    mask = {"a": torch.tensor([False, False, False]), "b": torch.tensor([False, True, False])}
    flags = loop.labelled_flags(Batch({}, {}, mask), _tasks("a", "b"))
    assert flags.dtype == torch.float64
    assert flags.tolist() == [0.0, 1.0]


def test_labelled_flags_of_masks_of_different_shapes() -> None:
    mask = {  # a row task and a tagging task ([B, L])
        "a": torch.tensor([True, False]),
        "t": torch.tensor([[False, False, False], [False, False, False]]),
    }
    assert loop.labelled_flags(Batch({}, {}, mask), _tasks("a", "t")).tolist() == [1.0, 0.0]


@pytest.mark.parametrize(("task_loss", "calls"), [("mean", 0), ("share", 3)])
def test_label_shares_are_computed_only_for_share(
    monkeypatch: pytest.MonkeyPatch, task_loss: str, calls: int
) -> None:
    import numpy as np
    import pandas as pd

    import manyheads as mh

    counted = {"n": 0}
    original = loop.label_shares

    def counting(*args: object) -> torch.Tensor:
        counted["n"] += 1
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(loop, "label_shares", counting)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=90), "y": rng.integers(0, 2, size=90)})
    frame["z"] = frame["y"].where(rng.random(90) < 0.5)  # half the rows unlabelled
    run = mh.fit(
        frame,
        tasks=[mh.Task("y", type="binary"), mh.Task("z", type="binary")],
        inputs={"x": "numeric"},
        architecture="hps",
        epochs=1,
        batch_size=30,
        task_loss=task_loss,
    )
    assert counted["n"] == calls  # 3 batches of 30 rows
    assert np.isfinite(run.history[0]["train_loss/z"])
