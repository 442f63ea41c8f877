"""MultiMNIST / MultiFashion construction (Sener & Koltun 2018): geometry, labels, determinism."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from manyheads.builtin_datasets import list_datasets, load_dataset
from manyheads.builtin_datasets._multimnist import (
    compose,
    load_multi_mnist,
    make_multi,
    overlay,
    read_idx,
    resize,
)
from manyheads.errors import DataError, InvalidParameterError


def _digits(n: int) -> np.ndarray:
    """Image ``i`` is filled with the value ``i + 1``: any pixel tells which image it came from."""
    return np.stack([np.full((28, 28), i + 1, dtype=np.uint8) for i in range(n)])


def test_compose_places_left_and_right_and_keeps_the_max() -> None:
    left, right = np.full((1, 28, 28), 100, np.uint8), np.full((1, 28, 28), 200, np.uint8)
    canvas = compose(left, right)[0]
    assert canvas.shape == (36, 36)
    assert (canvas[0:6, 0:28] == 100).all()  # left only
    assert (canvas[0:28, 0:6] == 100).all()
    assert (canvas[6:34, 6:34] == 200).all()  # right, and the overlap's max
    assert (canvas[28:36, 0:6] == 0).all()  # neither
    assert (canvas[0:6, 28:36] == 0).all()
    assert (canvas[34:, :] == 0).all()
    assert (canvas[:, 34:] == 0).all()
    swapped = compose(right, left)[0]  # overlap keeps the brighter left pixel
    assert (swapped[6:28, 6:28] == 200).all()
    assert (swapped[28:34, 6:34] == 100).all()


def test_a_single_left_pixel_lands_where_it_should() -> None:
    """Known answer: nearest-exact samples canvas row floor((i + 0.5) * 36 / 28)."""
    left = np.zeros((1, 28, 28), np.uint8)
    left[0, 9, 14] = (
        255  # -> canvas (9, 14) -> output (7, 11): floor(7.5*9/7)=9, floor(11.5*9/7)=14
    )
    out = resize(compose(left, np.zeros_like(left)), interpolation="nearest")[0]
    assert list(zip(*np.nonzero(out), strict=True)) == [(7, 11)]
    assert out[7, 11] == 255
    smooth = resize(compose(left, np.zeros_like(left)))[0]
    assert tuple(int(i) for i in np.unravel_index(int(smooth.argmax()), smooth.shape)) == (7, 11)
    assert smooth.sum() > 0
    assert smooth.max() < 255  # the antialiased bilinear filter spreads the pixel


def test_labels_match_the_source_digits() -> None:
    images, labels = _digits(50), np.arange(50) % 10
    pixels, left, right = make_multi(images, labels, seed=3, interpolation="nearest")
    assert pixels.shape == (50, 28, 28)
    assert pixels.dtype == np.uint8
    source_left = pixels[:, 0, 0].astype(int) - 1  # left-only corner
    source_right = pixels[:, 25, 25].astype(int) - 1  # canvas (32, 32): right only
    np.testing.assert_array_equal(source_left, np.arange(50))
    np.testing.assert_array_equal(left, labels)
    np.testing.assert_array_equal(right, labels[source_right])


def test_construction_is_deterministic_for_a_seed() -> None:
    images = np.random.default_rng(0).integers(0, 256, (40, 28, 28), dtype=np.uint8)
    labels = np.arange(40) % 10
    a, b, c = (make_multi(images, labels, seed=s) for s in (5, 5, 6))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


def test_bad_options_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidParameterError, match=r"'interpolation'.*Got 'nearst'.*'nearest'"):
        overlay(_digits(2), np.array([0, 1]), interpolation="nearst")
    monkeypatch.delenv("MANYHEADS_DATA", raising=False)
    with pytest.raises(DataError, match="MANYHEADS_DATA, which is not set"):
        load_multi_mnist()


def test_read_idx_rejects_other_files(tmp_path: Path) -> None:
    path = tmp_path / "x.gz"
    with gzip.open(path, "wb") as fh:
        fh.write((0x0D03).to_bytes(4, "big") + bytes(12))  # float32 values, not uint8
    with pytest.raises(DataError, match="magic number 3331"):
        read_idx(path)


def test_registered() -> None:
    assert {"multi-mnist", "multi-fashion"} <= set(list_datasets())


@pytest.mark.parametrize(("name", "folder"), [("multi-mnist", "mnist")])
def test_real_data_split_sizes_labels_and_pixels(shared_data: Path, name: str, folder: str) -> None:
    data = load_dataset(name, n_train=300, n_test=50, interpolation="nearest", seed=1)
    assert data.test is not None
    assert (len(data.train), len(data.valid), len(data.test)) == (270, 30, 50)
    assert [t.name for t in data.tasks] == ["left", "right"]
    assert data.inputs == {"image": "image"}
    assert set(data.train.index).isdisjoint(data.valid.index)
    source = read_idx(shared_data / folder / "train-images-idx3-ubyte.gz")
    source_labels = read_idx(shared_data / folder / "train-labels-idx1-ubyte.gz")
    rows = data.train.index.to_numpy() - 1  # 1-based positions in the built train split
    np.testing.assert_array_equal(data.train["left"].to_numpy(), source_labels[rows])
    # Output pixels 0-4 sample canvas rows/columns 0, 1, 3, 4, 5: the left digit alone.
    taken = np.array([0, 1, 3, 4, 5])
    got = np.stack(data.train["image"].tolist())[:, :5, :5]
    np.testing.assert_array_equal(got, source[rows][:, taken][:, :, taken])
    again = load_dataset(name, n_train=300, n_test=50, interpolation="nearest", seed=1)
    assert again.test is not None
    np.testing.assert_array_equal(
        np.stack(again.test["image"].tolist()), np.stack(data.test["image"].tolist())
    )
    assert again.test["right"].tolist() == data.test["right"].tolist()
