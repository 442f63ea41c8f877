"""The ``image`` input kind of TablePreprocessor: statistics, tensors, round trip, bad cells."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
import torch

from manyheads.data.preprocess import InputSpec, TablePreprocessor, infer_kind
from manyheads.errors import DataError
from manyheads.tasks import Task


def _frame(cells: Sequence[object], path: str = "images.parquet") -> pd.DataFrame:
    frame = pd.DataFrame(
        {"img": pd.Series(cells, dtype=object), "y": [i % 2 for i in range(len(cells))]}
    )
    frame.index = pd.RangeIndex(1, 1 + len(frame))
    frame.attrs["path"] = path
    return frame


def _rgb(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (3, 4, 5), dtype=np.uint8) for _ in range(n)]


def test_per_channel_train_statistics_standardise_every_split() -> None:
    cells = _rgb(6)
    pre = TablePreprocessor({"img": "image"}, []).fit(_frame(cells))
    stack = np.stack(cells).astype(np.float64)
    state = pre.image_["img"]
    np.testing.assert_allclose(state["mean"], stack.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(state["std"], stack.std(axis=(0, 2, 3)))
    x = pre.transform(_frame(cells), labels=False).x["image:img"]
    assert x.dtype == torch.float32
    assert x.shape == (6, 3, 4, 5)
    torch.testing.assert_close(x.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    other = _rgb(2, seed=1)  # another split uses the train statistics, not its own
    got = pre.transform(_frame(other), labels=False).x["image:img"]
    mean = torch.tensor(state["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(state["std"]).view(1, 3, 1, 1)
    expected = (torch.from_numpy(np.stack(other)).double() - mean) / std
    torch.testing.assert_close(got, expected.float())


def test_grey_images_get_one_channel_and_a_spec() -> None:
    cells = [np.full((6, 7), float(i)) for i in range(4)]
    pre = TablePreprocessor({"img": "image"}, []).fit(_frame(cells))
    assert pre.transform(_frame(cells), labels=False).x["image:img"].shape == (4, 1, 6, 7)
    assert pre.spec == InputSpec(0, (), (), (("img", (1, 6, 7)),))
    assert InputSpec(2, (), ()).image_shapes == ()  # tabular code keeps working


def test_json_round_trip_reproduces_the_encoding() -> None:
    cells = _rgb(5)
    tasks = [Task("y", type="binary")]
    pre = TablePreprocessor({"img": "image"}, tasks).fit(_frame(cells))
    again = TablePreprocessor.from_dict(json.loads(json.dumps(pre.to_dict())), tasks)
    assert again.spec == pre.spec
    a = pre.transform(_frame(cells)).x["image:img"]
    b = again.transform(_frame(cells)).x["image:img"]
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_models_saved_before_images_still_load() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 4.0]})
    state = TablePreprocessor({"x": "numeric"}, []).fit(frame).to_dict()
    del state["image"]
    assert TablePreprocessor.from_dict(state, []).spec.image_shapes == ()


def test_nested_lists_and_parquet_style_cells_are_images() -> None:
    grid = [[0, 1], [2, 3]]
    parquet_cell = np.array([np.array(row, dtype=np.uint8) for row in grid], dtype=object)
    pre = TablePreprocessor({"img": "image"}, []).fit(_frame([grid, parquet_cell]))
    x = pre.transform(_frame([grid, parquet_cell]), labels=False).x["image:img"]
    torch.testing.assert_close(x[0], x[1])


def test_infer_kind_recognises_arrays() -> None:
    assert infer_kind(pd.Series(_rgb(3), dtype=object)) == "image"
    assert infer_kind(pd.Series([np.zeros((5, 5))] * 2, dtype=object)) == "image"
    assert infer_kind(pd.Series([[[0, 1], [2, 3]], [[4, 5], [6, 7]]])) == "image"  # JSONL
    assert infer_kind(pd.Series(["a", "b", "a"])) == "categorical"


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (
            np.zeros((3, 4, 6), dtype=np.uint8),
            r"an image of shape \(3, 4, 6\).*expected \(3, 4, 5\)",
        ),
        ("cat.png", "a non-numeric value of type str"),
        (None, "a missing value"),
        (np.zeros(5), r"an array of shape \(5,\)"),
        ([[1, 2], [3]], "ragged"),
    ],
)
def test_bad_cells_name_the_row_and_column(bad: object, why: str) -> None:
    cells: list[object] = list(_rgb(4))
    cells[2] = bad
    with pytest.raises(DataError, match=rf"images\.parquet, line 3, column 'img': .*{why}"):
        TablePreprocessor({"img": "image"}, []).fit(_frame(cells))


def test_transform_rejects_a_shape_other_than_train() -> None:
    pre = TablePreprocessor({"img": "image"}, []).fit(_frame(_rgb(3)))
    other = [np.zeros((3, 8, 8), dtype=np.uint8)] * 2
    with pytest.raises(DataError, match=r"line 1, column 'img': .*expected \(3, 4, 5\)"):
        pre.transform(_frame(other), labels=False)
