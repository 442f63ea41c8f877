from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from manyheads.data.preprocess import TablePreprocessor, infer_kind
from manyheads.data.text import TextVocab
from manyheads.errors import DataError
from manyheads.tasks import Task


def _lines(frame: pd.DataFrame) -> pd.DataFrame:
    frame.index = pd.RangeIndex(2, 2 + len(frame))
    frame.attrs["path"] = "data.csv"
    return frame


def test_numeric_uses_train_statistics_and_flags_missing() -> None:
    train = _lines(pd.DataFrame({"x": [1.0, 3.0, np.nan]}))
    pre = TablePreprocessor({"x": "numeric"}, []).fit(train)
    test = _lines(pd.DataFrame({"x": [2.0, np.nan, 5.0]}))
    num = pre.transform(test, labels=False).x["num"]
    # mean 2, std 1 from the two observed train values; missing -> mean (0 after scaling) + flag 1
    assert num.tolist() == [[0.0, 0.0], [0.0, 1.0], [3.0, 0.0]]


def test_numeric_column_with_text_names_line_and_column() -> None:
    train = _lines(pd.DataFrame({"x": ["1", "2", "oops"]}))
    with pytest.raises(
        DataError,
        match=r"data\.csv, line 4, column 'x': numeric input expected, "
        r"got 'oops'",
    ):
        TablePreprocessor({"x": "numeric"}, []).fit(train)


def test_unseen_and_missing_categories_map_to_the_reserved_index() -> None:
    train = _lines(pd.DataFrame({"c": ["a", "b", "a"]}))
    pre = TablePreprocessor({"c": "categorical"}, []).fit(train)
    cat = pre.transform(_lines(pd.DataFrame({"c": ["b", "zzz", ""]})), labels=False).x["cat"]
    assert cat[:, 0].tolist() == [2, 0, 0]
    assert pre.spec.cardinalities == (3,)


def test_text_vocab_words_and_hashed_bigrams() -> None:
    vocab = TextVocab(min_count=1, n_buckets=100).fit(["soft dress", "soft top"])
    ids = vocab.encode(["soft dress", "unknownword", ""])
    assert ids.shape[1] == 3
    assert ids[0, 2] >= vocab.n_words  # the bigram id lives after the words
    assert ids[1, 0] == 1
    assert ids[1, 1] == 0
    assert (ids[2] == 0).all()
    again = TextVocab.from_dict(vocab.to_dict()).encode(["soft dress"])
    assert (again == ids[:1]).all()


def test_infer_kind() -> None:
    assert infer_kind(pd.Series(np.arange(10.0))) == "numeric"
    assert infer_kind(pd.Series(["a", "b"] * 5)) == "categorical"
    assert infer_kind(pd.Series(["this is a long review text"] * 5)) == "text"


@pytest.mark.parametrize(
    ("cells", "kind"),
    [
        (["1.5", "NaN", "2", " 3 "], "numeric"),  # a CSV column: strings, NaN read as missing
        ([1.5, "NaN", 2.0, "nan"], "numeric"),  # JSONL numbers mixed with "NaN" strings
        (["1.5", "NaN", "n/a", "2"], "categorical"),  # a cell that is not a number
        (["NaN", "nan"], "categorical"),  # nothing but missing: no number to go by
        ([True, "NaN", False], "categorical"),
    ],
)
def test_a_column_of_numbers_with_nan_cells_is_numeric(cells: list[object], kind: str) -> None:
    """What a numeric input reads as a number (docs/reliability.md) is inferred numeric, so
    NaN cells do not turn a numeric column into categories (they did)."""
    assert infer_kind(pd.Series(cells, dtype=object)) == kind


def test_a_csv_column_with_nan_cells_trains_as_numeric(tmp_path: Path) -> None:
    from manyheads.config.load import build_config
    from manyheads.data.io import read_table
    from manyheads.workflow._builders import infer_inputs

    (tmp_path / "t.csv").write_text("x,y\n1.5,0\nNaN,1\n2.5,1\n0.5,0\n")
    frame = read_table(tmp_path / "t.csv")
    config = build_config({"data": {"train": "t.csv"}, "tasks": {"y": {"type": "binary"}}})
    assert infer_inputs(config, frame) == {"x": "numeric"}
    pre = TablePreprocessor({"x": "numeric"}, []).fit(frame)
    assert pre.transform(frame, labels=False).x["num"][:, 1].tolist() == [0.0, 1.0, 0.0, 0.0]


def test_round_trip_keeps_the_encoding(toy_frame: pd.DataFrame) -> None:
    inputs = {"x": "numeric", "colour": "categorical", "review": "text"}
    tasks = [Task("good", type="binary")]
    pre = TablePreprocessor(inputs, tasks, text_options={"min_count": 1}).fit(toy_frame)
    again = TablePreprocessor.from_dict(pre.to_dict(), tasks)
    a = pre.transform(toy_frame)
    b = again.transform(toy_frame)
    for key in a.x:
        assert torch.equal(a.x[key], b.x[key])
    assert torch.equal(a.y["good"], b.y["good"])


@pytest.mark.parametrize("cell", [np.inf, -np.inf, "inf", "-Infinity"])
def test_infinite_numeric_input_is_an_error_naming_the_cell(cell: object) -> None:
    frame = pd.DataFrame({"x": [1.0, cell, 3.0]}, index=[2, 3, 4])
    frame.attrs["path"] = "t.csv"
    with pytest.raises(DataError, match=r"t.csv, line 3, column 'x': numeric input must be"):
        TablePreprocessor({"x": "numeric"}, []).fit(frame)


@pytest.mark.parametrize("cell", [np.nan, "NaN", "", None])
def test_nan_and_empty_numeric_input_are_missing(cell: object) -> None:
    frame = pd.DataFrame({"x": [1.0, cell, 3.0]}, dtype=object if cell in ("NaN", "") else None)
    pre = TablePreprocessor({"x": "numeric"}, []).fit(frame)
    assert pre.numeric_ == {"x": {"mean": 2.0, "std": 1.0, "indicator": True}}


def test_a_value_whose_square_overflows_is_named() -> None:
    frame = pd.DataFrame({"x": [1.0, 1e308, 3.0]}, index=[2, 3, 4])
    with pytest.raises(DataError, match=r"line 3, column 'x': the value 1e\+308 is too large"):
        TablePreprocessor({"x": "numeric"}, []).fit(frame)
    pre = TablePreprocessor({"x": "numeric"}, []).fit(frame.iloc[[0, 2]])
    with pytest.raises(DataError, match=r"line 3, column 'x': .*overflows float32"):
        pre.transform(frame)


@pytest.mark.parametrize("cell", [np.inf, "inf", 1e308])
def test_a_non_finite_regression_label_is_an_error(cell: object) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "r": [0.5, cell, 1.5]}, index=[2, 3, 4])
    with pytest.raises(DataError, match=r"line 3, column 'r': regression task 'r'"):
        TablePreprocessor({"x": "numeric"}, [Task("r", type="regression")]).fit(frame)


@pytest.mark.parametrize("pixel", [np.nan, np.inf])
def test_a_non_finite_pixel_is_an_error_naming_the_row(pixel: float) -> None:
    images = [np.zeros((4, 4)), np.zeros((4, 4)), np.zeros((4, 4))]
    images[1][2, 3] = pixel
    frame = pd.DataFrame({"img": images}, index=[1, 2, 3])
    with pytest.raises(DataError, match=r"line 2, column 'img': image pixels must be finite"):
        TablePreprocessor({"img": "image"}, []).fit(frame)


def test_a_config_without_inputs_leaves_out_empty_columns_and_named_row_ids() -> None:
    """A named row id (R's ``rownames`` of a table sorted by a target leaks it) and an empty
    column are named and not used; a column that only looks like an id is used with a warning;
    a year column and real measurements are plain inputs."""
    from manyheads.config.load import build_config
    from manyheads.workflow._builders import infer_inputs, resolve_inputs

    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame(
        {
            "rownames": rng.permutation(np.arange(1, 2 * n + 1))[:n],
            "Unnamed: 0": np.arange(n),
            "code": [f"R{i:04d}" for i in range(n)],
            "empty": [np.nan] * n,
            "year": np.arange(1950, 1950 + n),
            "x": rng.normal(size=n),
            "y": rng.integers(0, 2, size=n),
        }
    )
    config = build_config({"data": {"train": "t.csv"}, "tasks": {"y": {"type": "binary"}}})
    assert infer_inputs(config, frame) == {
        "code": "text",
        "year": "numeric",
        "x": "numeric",
    }
    said: list[str] = []
    resolve_inputs(config, frame, said.append)
    assert said[1:] == [
        "not used as inputs (list them under 'inputs' to use them): rownames (every value "
        "distinct, as in a row id), Unnamed: 0 (every value distinct, as in a row id), empty "
        "(empty in train)",
        "used as inputs, but they look like row ids (every value distinct); a model can only "
        "memorise an id, and a file sorted by the label leaks it through one: code. Set "
        "'inputs' without them if they are ids.",
    ]
    listed = build_config(
        {
            "data": {"train": "t.csv"},
            "inputs": {"rownames": "numeric"},
            "tasks": {"y": {"type": "binary"}},
        }
    )
    assert resolve_inputs(listed, frame) == {"rownames": "numeric"}

    only_ids = frame[["rownames", "empty", "y"]]
    with pytest.raises(
        DataError,
        match=r"no input column left after removing the label columns and the columns of no "
        r"use \(rownames: every value distinct, as in a row id, empty: empty in train; list "
        r"them under 'inputs' to use them anyway\)",
    ):
        resolve_inputs(config, only_ids)
