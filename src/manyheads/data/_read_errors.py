"""The DataErrors of a table file that cannot be read as bytes: an OS error, a damaged gzip
archive (what the CSV and JSONL readers say alike)."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from manyheads.errors import DataError

__all__ = ["GZIP_ERRORS", "damaged_gzip", "unreadable"]

#: what reading a truncated or corrupt ``.gz`` file raises.
GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)


def unreadable(exc: OSError, path: Path) -> DataError:
    """The error for a file the OS cannot read (missing, a folder, no permission).

    Example:
        >>> str(unreadable(FileNotFoundError(2, "No such file or directory"), Path("t.csv")))
        't.csv: cannot read the file (No such file or directory).'
    """
    return DataError(f"cannot read the file ({exc.strerror or exc}).", path=str(path))


def damaged_gzip(exc: Exception, path: Path, *, after_line: int | None = None) -> DataError:
    """The error for a truncated or corrupt gzip archive (``after_line``: the last line read).

    Example:
        >>> error = damaged_gzip(EOFError("end of stream"), Path("t.gz"), after_line=3)
        >>> str(error).removesuffix(" Compress the file again.")
        't.gz: the gzip archive is truncated or damaged after line 3 (end of stream).'
    """
    after = "" if after_line is None else f" after line {after_line}"
    return DataError(
        f"the gzip archive is truncated or damaged{after} ({exc}). Compress the file again.",
        path=str(path),
    )
