from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from manyheads.data.io import read_table
from manyheads.errors import DataError


def test_csv_index_is_the_file_line(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("x,y\n1,a\n2,b\n")
    frame = read_table(path)
    assert frame.index.tolist() == [2, 3]
    assert frame.attrs["path"] == str(path)


def test_formats_read_the_same_table(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1.5, 2.5], "c": ["a", "b"]})
    frame.to_csv(tmp_path / "t.csv.gz", index=False)
    frame.to_parquet(tmp_path / "t.parquet")
    frame.to_json(tmp_path / "t.jsonl", orient="records", lines=True)
    for name in ("t.csv.gz", "t.parquet", "t.jsonl"):
        got = read_table(tmp_path / name)
        assert got["x"].tolist() == [1.5, 2.5]
        assert got["c"].tolist() == ["a", "b"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.csv: file not found"):
        read_table(tmp_path / "nope.csv")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(DataError, match=r"e\.csv: the file is empty"):
        read_table(tmp_path / "e.csv")


def test_header_only(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("a,b\n")
    with pytest.raises(DataError, match="header but no rows"):
        read_table(tmp_path / "h.csv")


def test_bad_jsonl_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write('{"a": 1}\n{"a": \n')
    with pytest.raises(DataError, match=r"d\.jsonl\.gz, line 2: invalid JSON"):
        read_table(path)


def test_unknown_suffix(tmp_path: Path) -> None:
    (tmp_path / "x.xlsx").write_text("junk")
    with pytest.raises(DataError, match="unknown file format"):
        read_table(tmp_path / "x.xlsx")
