"""Image inputs from files: ``.npz`` tables and columns of PNG/JPEG paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from manyheads.data.images import is_image_path, read_image_files, read_npz
from manyheads.data.io import read_table
from manyheads.data.preprocess import TablePreprocessor, infer_kind
from manyheads.errors import DataError
from manyheads.tasks import Task


# -- .npz tables ---------------------------------------------------------------------------------
def test_npz_grey_images_and_labels_become_a_table(tmp_path: Path) -> None:
    images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    np.savez(tmp_path / "t.npz", images=images, label=np.array(["a", "b", "a"]), y=[0.5, 1, 2])
    frame = read_npz(tmp_path / "t.npz")
    assert list(frame.columns) == ["image", "label", "y"]
    assert frame.index.tolist() == [1, 2, 3]
    np.testing.assert_array_equal(frame.loc[2, "image"], images[1])
    assert frame["label"].tolist() == ["a", "b", "a"]
    assert infer_kind(frame["image"]) == "image"


def test_npz_colour_images_keep_their_channels(tmp_path: Path) -> None:
    np.savez_compressed(tmp_path / "c.npz", images=np.zeros((2, 3, 6, 6), np.float32), k=[1, 2])
    frame = read_npz(tmp_path / "c.npz")
    assert frame["image"].iloc[0].shape == (3, 6, 6)


def test_read_table_reads_npz_with_row_numbers(tmp_path: Path) -> None:
    np.savez(tmp_path / "t.npz", images=np.zeros((4, 8, 8), np.uint8), y=np.arange(4))
    frame = read_table(tmp_path / "t.npz")
    assert frame.index.tolist() == [1, 2, 3, 4]
    assert frame.attrs["path"] == str(tmp_path / "t.npz")
    assert frame["y"].tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        (
            {"pixels": np.zeros((2, 4, 4))},
            r"an \.npz table needs an 'images' array .*; found no 'images' array "
            r"\(arrays: pixels\)",
        ),
        ({"images": np.zeros((2, 4))}, r"an \.npz table .*; found 'images' of shape \(2, 4\)"),
        (
            {"images": np.zeros((2, 4, 4)), "y": np.zeros(3)},
            r"the array 'y' has shape \(3,\); every array besides 'images' must be 1-D with one "
            r"value per image \(2\)",
        ),
        ({"images": np.zeros((2, 4, 4)), "y": np.zeros((2, 2))}, r"the array 'y' has shape"),
        (
            {"images": np.zeros((2, 4, 4)), "y": np.array([{"a": 1}, None], dtype=object)},
            r"cannot read the \.npz archive without unpickling",
        ),
    ],
)
def test_bad_npz_tables_are_named(
    tmp_path: Path, arrays: dict[str, np.ndarray], message: str
) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)  # type: ignore[arg-type]
    with pytest.raises(DataError, match=rf"bad\.npz: {message}"):
        read_npz(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04 not really a zip archive", r"cannot read as \.npz"),
        (b"a,b\n1,2\n", r"not an \.npz archive \(a zip of \.npy arrays"),
    ],
)
def test_a_corrupt_npz_is_named(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "broken.npz"
    path.write_bytes(content)
    with pytest.raises(DataError, match=rf"broken\.npz: {message}"):
        read_npz(path)


# -- image files -----------------------------------------------------------------------------
def _table(tmp_path: Path, paths: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({"img": paths, "y": np.arange(len(paths)) % 2})
    frame.index = pd.RangeIndex(2, 2 + len(frame))  # CSV lines
    frame.attrs["path"] = str(tmp_path / "table.csv")
    return frame


def test_png_and_jpeg_files_become_arrays(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    Image.fromarray(grey).save(tmp_path / "img" / "grey.png")
    rgb = np.zeros((3, 4, 3), dtype=np.uint8)
    rgb[..., 0] = 255  # red
    Image.fromarray(rgb).save(tmp_path / "img" / "red.png")
    Image.fromarray(np.dstack([rgb, np.full((3, 4), 9, np.uint8)])).save(tmp_path / "rgba.png")
    Image.fromarray(grey).save(tmp_path / "img" / "grey.jpg", quality=95)
    paths = ["img/grey.png", "img/red.png", " rgba.png ", "img/grey.jpg"]
    arrays = read_image_files(_table(tmp_path, paths), "img")
    assert arrays.index.tolist() == [2, 3, 4, 5]
    np.testing.assert_array_equal(arrays[2], grey)
    assert arrays[3].shape == (3, 3, 4)  # channels first
    np.testing.assert_array_equal(arrays[3][0], np.full((3, 4), 255))
    assert arrays[4].shape == (3, 3, 4)  # the alpha channel is dropped
    assert arrays[5].shape == (3, 4)
    assert np.abs(arrays[5].astype(int) - grey).max() <= 8  # JPEG is lossy


def test_image_files_feed_the_image_input(tmp_path: Path) -> None:
    for i in range(4):
        Image.fromarray(np.full((5, 5), 40 * i, np.uint8)).save(tmp_path / f"{i}.png")
    frame = _table(tmp_path, [f"{i}.png" for i in range(4)])
    assert is_image_path(frame["img"].iloc[0])
    frame["img"] = read_image_files(frame, "img")
    assert infer_kind(frame["img"]) == "image"
    pre = TablePreprocessor({"img": "image"}, [Task("y", type="binary")]).fit(frame)
    assert pre.transform(frame).x["image:img"].shape == (4, 1, 5, 5)


def test_a_missing_image_names_table_line_column_and_image(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "ok.png")
    frame = _table(tmp_path, ["ok.png", "gone.png"])
    with pytest.raises(
        DataError,
        match=r"table\.csv, line 3, column 'img': cannot read the image 'gone\.png' "
        r"\(.*gone\.png\).*relative paths are relative to the table's folder",
    ):
        read_image_files(frame, "img")


def test_an_undecodable_image_is_named(tmp_path: Path) -> None:
    (tmp_path / "fake.jpg").write_text("not a JPEG")
    with pytest.raises(
        DataError, match=r"table\.csv, line 2, column 'img': cannot read the image 'fake\.jpg'"
    ):
        read_image_files(_table(tmp_path, ["fake.jpg"]), "img")


@pytest.mark.parametrize("cell", [None, "notes.txt", 3.5])
def test_a_cell_that_is_not_an_image_path_is_named(tmp_path: Path, cell: object) -> None:
    with pytest.raises(
        DataError, match=r"line 2, column 'img': expected the path of a \.png or \.jpg file"
    ):
        read_image_files(_table(tmp_path, [cell]), "img")  # type: ignore[list-item]


def test_paths_are_relative_to_the_given_table(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    Image.fromarray(np.ones((2, 3), np.uint8)).save(tmp_path / "data" / "a.png")
    frame = pd.DataFrame({"img": ["a.png"]})
    arrays = read_image_files(frame, "img", table=str(tmp_path / "data" / "t.jsonl"))
    assert arrays.iloc[0].shape == (2, 3)
