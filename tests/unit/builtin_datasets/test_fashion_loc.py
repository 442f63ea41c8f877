"""Fashion-MNIST localisation: geometry of the boxes, clutter, determinism, splits and tasks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from manyheads.builtin_datasets import list_datasets, load_dataset
from manyheads.builtin_datasets._fashion_loc import (
    CANVAS,
    CLASSES,
    _clutter_positions,
    load_fashion_loc,
    place_items,
)
from manyheads.errors import InvalidParameterError
from manyheads.tasks import get_task_type

COORDS = ["x1", "y1", "x2", "y2"]


def _squares(n: int) -> np.ndarray:
    """Item ``i`` is a full 28 x 28 square of value ``i + 1``: its box is where it is pasted."""
    return np.stack([np.full((28, 28), i + 1, dtype=np.uint8) for i in range(n)])


def test_a_full_item_fills_exactly_its_box() -> None:
    canvases, boxes = place_items(_squares(40), seed=0, n_clutter=0)
    assert canvases.shape == (40, CANVAS, CANVAS)
    for i, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
        assert x2 - x1 == y2 - y1  # the aspect is kept
        assert 16 <= x2 - x1 <= 48
        assert 0 <= x1 < x2 <= CANVAS
        assert 0 <= y1 < y2 <= CANVAS
        inside = np.zeros((CANVAS, CANVAS), dtype=bool)
        inside[y1:y2, x1:x2] = True
        assert (canvases[i][inside] == i + 1).all()
        assert (canvases[i][~inside] == 0).all()


def test_the_box_is_tight_around_a_small_item() -> None:
    item = np.zeros((1, 28, 28), dtype=np.uint8)
    item[0, 10:18, 12:14] = 255  # a thin bar in the middle of the 28 x 28 frame
    canvas, box = place_items(item, seed=3, n_clutter=0)
    x1, y1, x2, y2 = box[0].tolist()
    rows, cols = np.flatnonzero(canvas[0].any(axis=1)), np.flatnonzero(canvas[0].any(axis=0))
    assert (x1, y1, x2, y2) == (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
    assert x2 - x1 < y2 - y1  # the bar is taller than wide


def test_clutter_comes_from_other_items_and_leaves_the_boxes_alone() -> None:
    items = _squares(30)
    plain, boxes = place_items(items, seed=5, n_clutter=0)
    cluttered, same = place_items(items, seed=5, n_clutter=4)
    np.testing.assert_array_equal(same, boxes)
    assert (cluttered >= plain).all()  # a pixel-wise maximum
    changed = cluttered != plain
    assert changed.any()
    for i in range(len(items)):
        values = set(np.unique(cluttered[i][changed[i]]).tolist())
        assert i + 1 not in values  # never a crop of the canvas's own item


def test_a_patch_never_covers_a_whole_box() -> None:
    rng = np.random.default_rng(0)
    boxes = np.array([[30, 30, 32, 32]] * 500)  # a 2 x 2 box: random patches often cover it
    sides = rng.integers(8, 15, size=(500, 3))
    px, py = _clutter_positions(np.random.default_rng(1), boxes, sides)
    covers = (px <= 30) & (py <= 30) & (px + sides >= 32) & (py + sides >= 32)
    assert not covers.any()
    assert ((px >= 0) & (px + sides <= CANVAS) & (py >= 0) & (py + sides <= CANVAS)).all()


def test_construction_is_deterministic_for_a_seed() -> None:
    items = _squares(20)
    first, second = place_items(items, seed=1), place_items(items, seed=1)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(place_items(items, seed=2)[0], first[0])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_train": 5}, r"'n_train' option of fashion-mnist-loc must be an int in \[10, 60000\]"),
        ({"n_test": 2.5}, r"'n_test' option .* Got 2\.5"),
        ({"seed": "a"}, r"'seed' option of fashion-mnist-loc must be an int"),
        ({"n_clutter": 9}, r"'n_clutter' option of fashion-mnist-loc must be an int in \[0, 8\]"),
    ],
)
def test_bad_options_are_named(shared_data: Path, options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        load_fashion_loc(**options)  # type: ignore[arg-type]


def test_registered() -> None:
    assert "fashion-mnist-loc" in list_datasets()


def _corners(frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(frame[COORDS].to_numpy(dtype=float))


def test_real_data_splits_shapes_tasks_and_boxes(shared_data: Path) -> None:
    data = load_dataset("fashion-mnist-loc", n_train=200, n_test=50)
    assert data.test is not None
    assert (len(data.train), len(data.valid), len(data.test)) == (180, 20, 50)
    assert not set(data.train.index) & set(data.valid.index)
    assert data.inputs == {"image": "image"}
    assert [(t.name, t.type) for t in data.tasks] == [("label", "multiclass"), ("box", "box")]
    assert data.tasks[1].label_columns == tuple(COORDS)
    assert data.tasks[1].image_size == (64, 64)
    for frame in (data.train, data.valid, data.test):
        assert {img.shape for img in frame["image"]} == {(64, 64)}
        assert {img.dtype for img in frame["image"]} == {np.dtype(np.uint8)}
        assert set(frame["label"]) <= set(CLASSES)
        box = _corners(frame)
        assert ((box >= 0) & (box <= 1)).all()
        assert (box[:, 2] > box[:, 0]).all()
        assert (box[:, 3] > box[:, 1]).all()
        pixels = box * CANVAS
        np.testing.assert_allclose(pixels, np.round(pixels))  # edges of whole pixels
    assert len(set(data.train["label"])) == 10
    task_type = get_task_type("box")  # the labels pass the box task's own checks
    state = task_type.fit(data.tasks[1], data.train, "train")
    _, mask = task_type.encode(data.tasks[1], state, data.test, "test")
    assert bool(mask.all())


def test_real_boxes_hold_every_nonzero_pixel_of_the_item(shared_data: Path) -> None:
    plain = load_fashion_loc(n_train=100, n_test=20, n_clutter=0, seed=4)
    cluttered = load_fashion_loc(n_train=100, n_test=20, seed=4)
    for frame, other in ((plain.train, cluttered.train), (plain.test, cluttered.test)):
        assert other is not None
        assert frame is not None
        np.testing.assert_array_equal(_corners(frame), _corners(other))  # clutter moves no box
        for image, (x1, y1, x2, y2) in zip(frame["image"], _corners(frame) * CANVAS, strict=True):
            x1, y1, x2, y2 = (round(float(v)) for v in (x1, y1, x2, y2))
            outside = image.copy()
            outside[y1:y2, x1:x2] = 0
            assert not outside.any()  # every non-zero pixel of the item is inside its box
            inside = image[y1:y2, x1:x2]  # and the box is tight: each edge touches the item
            assert inside[0].any()
            assert inside[-1].any()
            assert inside[:, 0].any()
            assert inside[:, -1].any()


def test_real_data_is_deterministic_for_a_seed(shared_data: Path) -> None:
    first = load_fashion_loc(n_train=50, n_test=10, seed=7)
    second = load_fashion_loc(n_train=50, n_test=10, seed=7)
    other = load_fashion_loc(n_train=50, n_test=10, seed=8)
    assert first.train.index.tolist() == second.train.index.tolist()
    pd.testing.assert_frame_equal(
        first.train.drop(columns="image"), second.train.drop(columns="image")
    )
    for a, b in zip(first.train["image"], second.train["image"], strict=True):
        np.testing.assert_array_equal(a, b)
    assert first.train.index.tolist() != other.train.index.tolist()
