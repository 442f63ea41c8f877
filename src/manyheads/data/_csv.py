"""Read a CSV/TSV file (or its ``.gz``), checking its text first so that refusals name the line.

UTF-8 (with the line and the likely encoding), the header (duplicate names, which pandas would
silently rename ``age.1``; a single column that hints another separator) and the number of fields
of every record (pandas fills a short row with missing values) are checked before pandas parses
the text. :func:`manyheads.data.io.read_table` reads ``.csv``, ``.tsv`` and their ``.gz`` here.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from manyheads.data._read_errors import GZIP_ERRORS, damaged_gzip, unreadable
from manyheads.errors import DataError

__all__ = ["read_csv"]


def read_csv(path: Path, sep: str) -> pd.DataFrame:
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

    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if path.name.lower().endswith(".gz") else raw
    except GZIP_ERRORS as exc:
        raise damaged_gzip(exc, path) from None
    except OSError as exc:
        raise unreadable(exc, path) from None


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
