"""Read CSV / CSV.gz / Parquet / JSONL / CoNLL files (or a crawl store URL) into a DataFrame.

The returned frame's index is the 1-based line of each row in the file (the CSV header is line 1,
so the first data row is line 2; for Parquet it is the 1-based row number; for CoNLL files, whose
rows are sentences, the line of the sentence's first word). Errors downstream use it to name the
line. JSONL cells keep their JSON type: ``{"tokens": ["EU", "rejects"], "ner": ["B-ORG", "O"]}``
gives list cells, what ``tokens`` inputs and ``tagging`` tasks read.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd

from manyheads.data.conll import CONLL_SUFFIXES, is_conll, read_conll
from manyheads.errors import DataError

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
        source: a path ending in one of :data:`SUFFIXES`, or a ``sqlite:///...`` /
            ``postgresql://...`` URL of a crawl store.

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
    path = Path(text)
    if not path.exists():
        raise DataError(
            "file not found. Check the path (relative paths are relative to the "
            "working directory).",
            path=text,
        )
    if path.is_dir():
        raise DataError("is a directory; expected a data file.", path=text)
    if is_conll(path):
        return read_conll(path)  # one row per sentence; see manyheads.data.conll
    if path.stat().st_size == 0:
        raise DataError("the file is empty; expected a header and at least one row.", path=text)
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
        frame = _read_csv(path, sep="\t" if ".tsv" in name else ",")
        first = 2
    elif name.endswith((".parquet", ".pq")):
        frame = _read_parquet(path)
        first = 1
    elif name.endswith(".npz"):  # arrays 'images' + 1-D labels; see manyheads.data.images
        from manyheads.data.images import read_npz

        frame = read_npz(path)
        first = 1
    elif name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
        frame = _read_jsonl(path)
        first = 1
    else:
        raise DataError(
            f"unknown file format. Supported: {', '.join(SUFFIXES)}, or a sqlite:/// URL.",
            path=text,
        )
    if len(frame) == 0:
        raise DataError("the file has a header but no rows.", path=text)
    if not frame.attrs.pop("lines", False):  # a CSV's index is already each record's line
        frame.index = pd.RangeIndex(first, first + len(frame))
    frame.attrs["path"] = text
    by_row = first == 1 and name.endswith((".parquet", ".pq", ".npz"))
    frame.attrs["row_word"] = "row" if by_row else "line"
    return frame


def _read_csv(path: Path, sep: str) -> pd.DataFrame:
    """Read a CSV/TSV file (or its ``.gz``) whose index is each record's first line.

    The text is checked before pandas parses it, so that every refusal names the line:
    UTF-8 (with the line and the likely encoding), the header (duplicate names, which pandas
    would silently rename ``age.1``; a single column that hints another separator) and the
    number of fields of every record (pandas fills a short row with missing values).
    """
    where = str(path)
    text = _decode(_read_bytes(path), path)
    if not text.strip():
        raise DataError("the file is empty; expected a header and rows.", path=where)
    starts = _check_records(text, sep, path)
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=sep, keep_default_na=False, na_values=[""], low_memory=False
        )
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty; expected a header and rows.", path=where) from None
    except pd.errors.ParserError as exc:
        raise DataError(
            f"cannot parse as CSV: {str(exc).strip()}. Check quoting and the number of fields "
            "per line.",
            path=where,
        ) from None
    if len(starts) == len(frame):  # the line of each record (quoted newlines span lines)
        frame.index = pd.Index(starts)
        frame.attrs["lines"] = True
    return frame


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed for ``.gz`` (a truncated archive is a DataError)."""
    import gzip
    import zlib

    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if path.name.lower().endswith(".gz") else raw
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(
            f"the gzip archive is truncated or damaged ({exc}). Compress the file again.",
            path=str(path),
        ) from None
    except OSError as exc:
        raise DataError(f"cannot read the file ({exc.strerror or exc}).", path=str(path)) from None


def _decode(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
        line = raw.count(b"\n", 0, start) + 1
        column = start - (raw.rfind(b"\n", 0, start) + 1) + 1
        byte = raw[start : start + 1].hex()
        raise DataError(
            f"not UTF-8 text: byte 0x{byte} at character {column} of the line. The file looks "
            "like Latin-1 or Windows-1252 (cp1252); re-save it as UTF-8, e.g. "
            f"iconv -f cp1252 -t utf-8 {path.name} > utf8.csv.",
            path=str(path),
            line=line,
        ) from None


def _check_records(text: str, sep: str, path: Path) -> list[int]:
    """The first line of each non-blank record after the header (what pandas keeps), after
    checking the header's names and every record's number of fields."""
    import csv

    if '"' in text:  # quoted fields may hold separators and newlines: parse them
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
        lines: list[int] = []
        counts: list[int] = []
        header: list[str] | None = None
        header_line = previous = 0
        try:
            for record in reader:
                first, previous = previous + 1, reader.line_num
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue
                if header is None:
                    header, header_line = record, first
                    continue
                lines.append(first)
                counts.append(len(record))
        except csv.Error as exc:
            raise DataError(
                f"cannot parse as CSV ({exc}). Check the quotes of this record.",
                path=str(path),
                line=previous + 1,
            ) from None
        if header is None:
            raise DataError("the file is empty; expected a header and rows.", path=str(path))
    else:
        raw_lines = text.split("\n")
        keep = [i for i, line in enumerate(raw_lines) if line.strip()]
        header = raw_lines[keep[0]].rstrip("\r").split(sep)
        header_line = keep[0] + 1
        lines = [i + 1 for i in keep[1:]]
        counts = [raw_lines[i].count(sep) + 1 for i in keep[1:]]
    _check_header(header, sep, path, header_line)
    want = len(header)
    bad = next((i for i, n in enumerate(counts) if n != want), None)
    if bad is not None:
        raise DataError(
            f"expected {want} fields (as the header has), found {counts[bad]}. A cell "
            f"is missing or extra, or a value holds an unquoted '{sep}': fix the line "
            "(quote such values) or drop it.",
            path=str(path),
            line=lines[bad],
        )
    return lines


def _check_header(header: list[str], sep: str, path: Path, line: int) -> None:
    names = list(header)  # pandas renames exact repeats (age, age.1); empty names are unnamed
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name.strip() and name in seen:
            raise DataError(
                f"columns {seen[name]} and {position} are both named '{name}'. Column names "
                "must be unique: rename one.",
                path=str(path),
                line=line,
            )
        seen[name] = position
    if len(names) == 1:
        other = next((s for s in (";", "\t", "|", ",") if s != sep and s in header[0]), None)
        if other is not None:
            shown = {"\t": "tab", ";": "semicolon", "|": "pipe", ",": "comma"}[other]
            raise DataError(
                f"the header has one column, {header[0][:60]!r}, which holds {shown}s: the "
                f"file seems {shown}-separated, but {'.tsv' if sep == chr(9) else '.csv'} files "
                f"are read {'tab' if sep == chr(9) else 'comma'}-separated. Re-save it with "
                f"{'tabs' if sep == chr(9) else 'commas'} (e.g. pandas: "
                f"pd.read_csv(f, sep={other!r}).to_csv(out, index=False)).",
                path=str(path),
                line=line,
            )


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for a corrupt file
        raise DataError(f"cannot read as Parquet: {exc}.", path=str(path)) from None


def _read_jsonl(path: Path) -> pd.DataFrame:
    import gzip
    import zlib

    opener = gzip.open if path.name.endswith(".gz") else open
    rows: list[dict[str, object]] = []
    lineno = 0
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    raise DataError(
                        "blank line; JSONL needs one JSON object per line.",
                        path=str(path),
                        line=lineno,
                    )
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(
                        f"invalid JSON ({exc.msg}, column {exc.colno}).",
                        path=str(path),
                        line=lineno,
                    ) from None
                if not isinstance(row, dict):
                    raise DataError(
                        f"expected a JSON object per line, got {type(row).__name__}.",
                        path=str(path),
                        line=lineno,
                    )
                rows.append(row)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"not UTF-8 text ({exc.reason}) after line {lineno}. Re-save the file as UTF-8.",
            path=str(path),
            line=lineno + 1,
        ) from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(
            f"the gzip archive is truncated or damaged after line {lineno} ({exc}). "
            "Compress the file again.",
            path=str(path),
        ) from None
    except OSError as exc:
        raise DataError(f"cannot read the file ({exc.strerror or exc}).", path=str(path)) from None
    return pd.DataFrame(rows)


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
