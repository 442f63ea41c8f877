"""Image inputs from files: ``.npz`` tables and columns of PNG/JPEG paths."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from manyheads.data.images import is_image_path, read_idx, read_image_files, read_npz
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


# -- ARRAYS#ROW: one image of an .npz or IDX array, labels in the table ----------------------------
def _write_idx(path: Path, images: np.ndarray, gz: bool) -> None:
    header = (0x0800 + images.ndim).to_bytes(4, "big")
    header += b"".join(int(d).to_bytes(4, "big") for d in images.shape)
    payload = header + images.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if gz else payload)


@pytest.mark.parametrize("name", ["imgs-idx3-ubyte.gz", "imgs-idx3-ubyte", "imgs.npz"])
def test_cells_name_rows_of_an_image_array(tmp_path: Path, name: str) -> None:
    images = np.arange(5 * 3 * 4, dtype=np.uint8).reshape(5, 3, 4)
    if name.endswith(".npz"):
        np.savez(tmp_path / name, images=images)
    else:
        _write_idx(tmp_path / name, images, gz=name.endswith(".gz"))
    (tmp_path / "labels.csv").write_text(
        f"img,y,x1\n{name}#4,1,0.1\n{name}#0,0,0.2\n {name}#2 ,1,0.3\n"
    )
    frame = read_table(tmp_path / "labels.csv")
    assert infer_kind(frame["img"]) == "image"
    arrays = read_image_files(frame, "img")
    for got, row in zip(arrays, [4, 0, 2], strict=True):
        np.testing.assert_array_equal(got, images[row])
    pre = TablePreprocessor({"img": "image"}, [Task("y", type="binary")]).fit(frame)
    assert pre.transform(frame).x["image:img"].shape == (3, 1, 3, 4)


def test_a_row_past_the_end_of_the_array_is_named(tmp_path: Path) -> None:
    _write_idx(tmp_path / "a-idx3-ubyte", np.zeros((2, 3, 3), np.uint8), gz=False)
    with pytest.raises(
        DataError,
        match=r"table\.csv, line 3, column 'img': 'a-idx3-ubyte#2' names no image: the array "
        r"has 2 images \(rows count from 0\)",
    ):
        read_image_files(_table(tmp_path, ["a-idx3-ubyte#1", "a-idx3-ubyte#2"]), "img")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"cannot read the image array 'b\.idx': .*cannot read as an IDX file"),
        (b"\x00\x00\x0d\x03" + bytes(12), r"not a uint8 IDX file: magic number 3331"),
        ((2051).to_bytes(4, "big") + (4).to_bytes(4, "big") * 3 + bytes(9), r"truncated IDX"),
    ],
)
def test_a_bad_idx_file_is_named(tmp_path: Path, content: bytes | None, message: str) -> None:
    if content is not None:
        (tmp_path / "b.idx").write_bytes(content)
    with pytest.raises(DataError, match=r"table\.csv, line 2, column 'img': .*" + message):
        read_image_files(_table(tmp_path, ["b.idx#0"]), "img")


def test_idx_labels_round_trip(tmp_path: Path) -> None:
    labels = np.array([7, 1, 4], np.uint8)
    _write_idx(tmp_path / "l-idx1-ubyte.gz", labels, gz=True)
    np.testing.assert_array_equal(read_idx(tmp_path / "l-idx1-ubyte.gz"), labels)
