"""A directory of Parquet files (or one file) read in row groups with ``pyarrow.dataset``.

:class:`ParquetSource` lists the row groups of the files (sorted by path) without reading them,
numbers the rows globally in that order, and reads any subset of the row groups as pandas
frames of at most :data:`READ_ROWS` rows. Each frame's index is the 1-based row of its file
and ``attrs["path"]`` the file, so that errors name the file and row, as for a file read whole.

Validation and test rows can be held out by a seeded hash of the global row number
(:func:`holdout_split`): a row's split never depends on how the files are read or sharded.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads

from manyheads.errors import DataError

__all__ = ["READ_ROWS", "ParquetSource", "RowGroup", "holdout_split", "row_numbers"]

#: rows per frame read from a row group (pyarrow's ``batch_size``).
READ_ROWS = 65_536
PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True)
class RowGroup:
    """One row group: its fragment, file, first row in the file (0-based), first global row
    and number of rows."""

    fragment: pads.ParquetFileFragment
    file: str
    file_start: int
    start: int
    n_rows: int


class ParquetSource:
    """The Parquet files of a directory (recursively, sorted by path), or one Parquet file.

    Args:
        path: a directory of ``.parquet``/``.pq`` files, or one such file.

    Raises:
        DataError: the path is missing, holds no Parquet file, or a file is unreadable or has
            other columns than the first.

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> pd.DataFrame({"a": [1, 2, 3]}).to_parquet(folder / "part-0.parquet")
        >>> pd.DataFrame({"a": [4, 5]}).to_parquet(folder / "part-1.parquet")
        >>> source = ParquetSource(folder)
        >>> source.n_rows, [f.index.tolist() for f in source.frames(source.row_groups)]
        (5, [[1, 2, 3], [1, 2]])
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        files = _parquet_files(Path(path))
        try:
            self.dataset = pads.dataset([str(f) for f in files], format="parquet")
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"cannot read as Parquet: {exc}.", path=self.path) from None
        self.schema = self.dataset.schema
        self.row_groups = self._list_row_groups()
        self.n_rows = sum(g.n_rows for g in self.row_groups)
        if self.n_rows == 0:
            raise DataError("the Parquet files hold no rows.", path=self.path)

    @property
    def columns(self) -> list[str]:
        """The column names of the files."""
        return list(self.schema.names)

    @property
    def files(self) -> list[str]:
        """The Parquet files, in reading order."""
        return [str(f.path) for f in self.dataset.get_fragments()]

    def _list_row_groups(self) -> list[RowGroup]:
        groups: list[RowGroup] = []
        start = 0
        for fragment in self.dataset.get_fragments():
            file_start = 0
            try:
                pieces = fragment.split_by_row_group()
            except (pa.ArrowInvalid, OSError) as exc:
                raise DataError(f"cannot read as Parquet: {exc}.", path=fragment.path) from None
            for piece in pieces:
                n = sum(int(rg.num_rows) for rg in piece.row_groups)
                groups.append(RowGroup(piece, str(fragment.path), file_start, start, n))
                file_start += n
                start += n
        return groups

    def frames(
        self, groups: Sequence[RowGroup], columns: Sequence[str] | None = None
    ) -> Iterator[pd.DataFrame]:
        """Frames of at most :data:`READ_ROWS` rows of ``groups`` in the order given; index:
        the 1-based row of the file; ``attrs``: ``path`` (the file), ``row_word`` and ``rows``
        (the global 0-based numbers of the first and after the last row: :func:`row_numbers`)."""
        names = list(columns) if columns is not None else None
        for group in groups:
            offset = 0
            try:
                batches = group.fragment.to_batches(columns=names, batch_size=READ_ROWS)
                for batch in batches:
                    frame = batch.to_pandas()
                    first = group.file_start + offset
                    frame.index = pd.RangeIndex(first + 1, first + 1 + len(frame))
                    frame.attrs["path"] = group.file
                    frame.attrs["row_word"] = "row"
                    frame.attrs["rows"] = (group.start + offset, group.start + offset + len(frame))
                    offset += len(frame)
                    yield frame
            except (pa.ArrowInvalid, OSError) as exc:
                raise DataError(f"cannot read as Parquet: {exc}.", path=group.file) from None

    def head(self, n_rows: int) -> pd.DataFrame:
        """The first ``n_rows`` rows (or all) as one frame, for inferring input kinds."""
        parts: list[pd.DataFrame] = []
        have = 0
        for frame in self.frames(self.row_groups):
            frame.attrs.clear()
            parts.append(frame.iloc[: n_rows - have])
            have += len(parts[-1])
            if have >= n_rows:
                break
        out = pd.concat(parts) if len(parts) > 1 else parts[0]
        out.attrs.update(path=self.path, row_word="row")
        return out

    def read_all(self) -> pd.DataFrame:
        """Every row as one frame (the in-memory path of a directory); index: the global
        1-based row; ``attrs["path"]``: the directory."""
        try:
            frame = self.dataset.to_table().to_pandas()
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"cannot read as Parquet: {exc}.", path=self.path) from None
        frame.index = pd.RangeIndex(1, 1 + len(frame))
        frame.attrs.update(path=self.path, row_word="row")
        return frame


def row_numbers(frame: pd.DataFrame) -> np.ndarray:
    """The global 0-based row numbers of a frame read by :meth:`ParquetSource.frames`."""
    start, stop = frame.attrs["rows"]
    return np.arange(start, stop, dtype=np.int64)


def _parquet_files(path: Path) -> list[Path]:
    if not path.exists():
        raise DataError(
            "file or directory not found. Check the path (relative paths are relative to the "
            "working directory).",
            path=str(path),
        )
    if path.is_file():
        if not path.name.lower().endswith(PARQUET_SUFFIXES):
            raise DataError(
                "only Parquet files (.parquet, .pq) can be streamed (data.stream). Convert the "
                "file to Parquet, or set data.stream: false to read it whole.",
                path=str(path),
            )
        return [path]
    files = sorted(p for p in path.rglob("*") if p.name.lower().endswith(PARQUET_SUFFIXES))
    if not files:
        raise DataError(
            "the directory holds no Parquet file (.parquet, .pq); a directory given as data is "
            "read as a table of Parquet files.",
            path=str(path),
        )
    return files


def holdout_split(
    rows: np.ndarray, seed: int, valid_fraction: float, test_fraction: float
) -> np.ndarray:
    """The split of each global row number: 0 train, 1 validation, 2 test.

    A row goes to test when a seeded 64-bit hash of its number (splitmix64), as a fraction in
    [0, 1), is below ``test_fraction``, to validation when below ``test_fraction +
    valid_fraction``; so the split of a row depends only on its number and the seed.

    Example:
        >>> parts = holdout_split(np.arange(100_000), 0, 0.1, 0.05)
        >>> [round(float((parts == k).mean()), 2) for k in (0, 1, 2)]
        [0.85, 0.1, 0.05]
    """
    with np.errstate(over="ignore"):
        z = rows.astype(np.uint64) + np.uint64(seed + 1) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    out = np.zeros(len(rows), dtype=np.int8)
    out[u < test_fraction + valid_fraction] = 1
    out[u < test_fraction] = 2
    return out
