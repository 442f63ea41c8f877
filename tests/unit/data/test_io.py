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


def test_csv_index_is_each_record_first_line_across_quoted_newlines_and_blanks(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.csv"
    path.write_text('x,y\n1,"two\nlines"\n\n2,b\n   \n3,"c,d"\n')
    frame = read_table(path)
    assert frame.index.tolist() == [2, 5, 7]
    assert frame["y"].tolist() == ["two\nlines", "b", "c,d"]


def test_a_large_csv_without_quotes_keeps_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "a.csv.gz"
    path.write_bytes(gzip.compress(("x,y\n" + "1,a\n\n" * 1000).encode()))
    assert read_table(path).index.tolist()[:3] == [2, 4, 6]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("x,y\n1,a\n2\n", r"a.csv, line 3: expected 2 fields \(as the header has\), found 1"),
        ('x,y\n1,"a\nb"\n2,b,c\n', r"a.csv, line 4: expected 2 fields .*found 3"),
        ("x,y,x\n1,a,2\n", r"a.csv, line 1: columns 1 and 3 are both named 'x'"),
        ("x;y\n1;a\n", r"a.csv, line 1: .*semicolon"),
    ],
)
def test_csv_structure_errors_name_the_line(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "a.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=match):
        read_table(path)


def test_a_latin1_csv_names_line_and_encoding(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes("x,y\n1,a\n2,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"a.csv, line 3: not UTF-8 text: byte 0xe9 .*cp1252"):
        read_table(path)


@pytest.mark.parametrize(
    ("name", "where"), [("a.csv.gz", r"damaged \("), ("a.jsonl.gz", r"damaged after line \d+ \(")]
)
def test_a_truncated_gzip_is_a_data_error(tmp_path: Path, name: str, where: str) -> None:
    row = "x,y\n1,a\n" if name.startswith("a.csv") else '{"x": 1}\n'
    data = gzip.compress((row * 2000).encode())
    (tmp_path / name).write_bytes(data[: len(data) // 2])
    match = rf"{name}: the gzip archive is truncated or {where}.*\)\. Compress the file again\.$"
    with pytest.raises(DataError, match=match):
        read_table(tmp_path / name)


def test_empty_header_names_are_not_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("x,,\n1,,\n")
    assert read_table(path).columns.tolist() == ["x", "Unnamed: 1", "Unnamed: 2"]


def test_a_duplicate_header_after_blank_lines_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('\n\nx,x\n1,"a"\n')
    with pytest.raises(DataError, match=r"a.csv, line 3: columns 1 and 2 are both named 'x'"):
        read_table(path)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b'{"a": 1}\n\n', r"j\.jsonl, line 2: blank line; JSONL needs one JSON object per line\.$"),
        (b'{"a": 1}\n[1, 2]\n', r"j\.jsonl, line 2: expected a JSON object per line, got list\.$"),
        (
            b'{"a": "caf\xe9"}\n',
            r"j\.jsonl, line 1: not UTF-8 text: byte 0xe9 at character 11 of the line "
            r"\(invalid continuation byte\)\. Re-save the file as UTF-8\.$",
        ),
        (  # far into the file: named at its own line, not at the first (decoded in blocks)
            b'{"a": "x"}\n' * 3000 + b'{"a": "caf\xe9"}\n',
            r"j\.jsonl, line 3001: not UTF-8 text: byte 0xe9 at character 11 ",
        ),
        (
            b'{"a": 1}\n\xef\xbb\xbf{"a": 2}\n',
            r"j\.jsonl, line 2: invalid JSON \(Unexpected UTF-8 BOM",
        ),
    ],
)
def test_jsonl_line_errors_name_the_line(tmp_path: Path, body: bytes, match: str) -> None:
    (tmp_path / "j.jsonl").write_bytes(body)
    with pytest.raises(DataError, match=match):
        read_table(tmp_path / "j.jsonl")


def test_jsonl_byte_order_mark_on_the_first_line_is_read_as_utf8(tmp_path: Path) -> None:
    (tmp_path / "j.jsonl").write_bytes(b'\xef\xbb\xbf{"a": 1}\n{"a": 2}\n')
    assert read_table(tmp_path / "j.jsonl")["a"].tolist() == [1, 2]
