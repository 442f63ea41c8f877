"""Read CSV / CSV.gz / Parquet / JSONL / CoNLL files (or a crawl store URL) into a DataFrame.

The returned frame's index is the 1-based line of each row in the file (the CSV header is line 1,
so the first data row is line 2; for Parquet it is the 1-based row number; for CoNLL files, whose
rows are sentences, the line of the sentence's first word). Errors downstream use it to name the
line. JSONL cells keep their JSON type: ``{"tokens": ["EU", "rejects"], "ner": ["B-ORG", "O"]}``
gives list cells, what ``tokens`` inputs and ``tagging`` tasks read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from manyheads.data._csv import read_csv
from manyheads.data._read_errors import GZIP_ERRORS, damaged_gzip, unreadable
from manyheads.data.conll import CONLL_SUFFIXES, is_conll, read_conll
from manyheads.errors import DataError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["SUFFIXES", "read_table"]

SUFFIXES = (
    ".csv",
    ".csv.gz",
    ".tsv",
    ".parquet",
    ".pq",
    ".jsonl",
    ".jsonl.gz",
    ".ndjson",
    ".npz",
    *CONLL_SUFFIXES,
)
_STORE_PREFIXES = ("sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")


def read_table(source: str | Path) -> pd.DataFrame:
    """Read a data file or crawl store into a DataFrame whose index is the source line.

    Args:
        source: a path ending in one of :data:`SUFFIXES`, a directory of Parquet files (read
            whole, in path order, its index the 1-based row of all files together), or a
            ``sqlite:///...`` / ``postgresql://...`` URL of a crawl store.

    Raises:
        DataError: the file is missing, empty, unreadable or of an unknown format.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
        >>> _ = path.write_text("a,b\\n1,x\\n2,y\\n")
        >>> read_table(path).index.tolist()
        [2, 3]
    """
    text = str(source)
    if text.startswith(_STORE_PREFIXES):
        return _read_store(text)
    if Path(text).is_dir():  # a table of Parquet files, read whole (data.stream streams it)
        from manyheads.data._parquet import ParquetSource

        return ParquetSource(text).read_all()
    path = _data_file(text)
    if is_conll(path):
        return read_conll(path)  # one row per sentence; see manyheads.data.conll
    if path.stat().st_size == 0:
        raise DataError("the file is empty; expected a header and at least one row.", path=text)
    name = path.name.lower()
    frame, first = _read_format(path, name, text)
    if len(frame) == 0:
        raise DataError("the file has a header but no rows.", path=text)
    if not frame.attrs.pop("lines", False):  # a CSV's index is already each record's line
        frame.index = pd.RangeIndex(first, first + len(frame))
    frame.attrs["path"] = text
    by_row = first == 1 and name.endswith((".parquet", ".pq", ".npz"))
    frame.attrs["row_word"] = "row" if by_row else "line"
    return frame


def _data_file(text: str) -> Path:
    """``text`` as the path of an existing file, or a DataError saying what it is instead."""
    path = Path(text)
    if not path.exists():
        raise DataError(
            "file not found. Check the path (relative paths are relative to the "
            "working directory).",
            path=text,
        )
    if path.is_dir():
        raise DataError("is a directory; expected a data file.", path=text)
    return path


def _read_format(path: Path, name: str, text: str) -> tuple[pd.DataFrame, int]:
    """The frame of a CSV/TSV, Parquet, NPZ or JSONL file and the line of its first row
    (``name``: the file name in lower case; ``text``: the path as given, named in errors)."""
    if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
        return read_csv(path, sep="\t" if ".tsv" in name else ","), 2
    if name.endswith((".parquet", ".pq")):
        return _read_parquet(path), 1
    if name.endswith(".npz"):  # arrays 'images' + 1-D labels; see manyheads.data.images
        from manyheads.data.images import read_npz

        return read_npz(path), 1
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
        return _read_jsonl(path), 1
    raise DataError(
        f"unknown file format. Supported: {', '.join(SUFFIXES)}, or a sqlite:/// URL.",
        path=text,
    )


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for a corrupt file
        raise DataError(f"cannot read as Parquet: {exc}.", path=str(path)) from None


def _read_jsonl(path: Path) -> pd.DataFrame:
    import gzip

    def at(line: int, message: str) -> DataError:
        return DataError(message, path=str(path), line=line)

    opener = gzip.open if path.name.endswith(".gz") else open
    rows: list[dict[str, object]] = []
    lineno = 0
    try:
        with opener(path, "rb") as fh:  # bytes: a bad byte is found on its own line
            for lineno, raw in enumerate(fh, start=1):
                line = _utf8_line(raw, lineno, at)
                if not line.strip():
                    raise at(lineno, "blank line; JSONL needs one JSON object per line.")
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise at(lineno, f"invalid JSON ({exc.msg}, column {exc.colno}).") from None
                if not isinstance(row, dict):
                    raise at(lineno, f"expected a JSON object per line, got {type(row).__name__}.")
                rows.append(row)
    except GZIP_ERRORS as exc:
        raise damaged_gzip(exc, path, after_line=lineno) from None
    except OSError as exc:
        raise unreadable(exc, path) from None
    return pd.DataFrame(rows)


def _utf8_line(raw: bytes, lineno: int, at: Callable[[int, str], DataError]) -> str:
    """One line of a JSONL file as text (a UTF-8 byte-order mark on the first line dropped)."""
    if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        column = len(raw[: exc.start].decode("utf-8", errors="replace")) + 1
        message = (
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at character {column} of the line "
            f"({exc.reason}). Re-save the file as UTF-8."
        )
        raise at(lineno, message) from None


def _read_store(url: str) -> pd.DataFrame:
    try:
        from manyheads.crawl import read_store
    except ImportError as exc:
        raise DataError(
            f"reading a crawl store needs the crawl extra ({exc}). "
            "Install it with: pip install 'manyheads[crawl]'.",
            path=url,
        ) from None
    from manyheads.crawl._redact import redact

    frame = read_store(url)
    if len(frame) == 0:
        raise DataError("the crawl store has no records.", path=redact(url))
    frame = frame.reset_index(drop=True)
    frame.index = pd.RangeIndex(1, 1 + len(frame))
    frame.attrs["path"] = redact(url)  # named in errors: never with its password
    frame.attrs["row_word"] = "row"
    return frame
