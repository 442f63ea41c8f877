"""The streamed training split before fitting: its options (``data.stream_options``), the
validation/test rows held out by a hash of the row number, and opening the Parquet files."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from manyheads.data._parquet import ParquetSource, holdout_split, row_numbers
from manyheads.errors import DataError, InvalidParameterError

__all__ = ["Holdout", "StreamOptions", "StreamedTrain", "open_stream", "stream_options"]


@dataclass(frozen=True)
class StreamOptions:
    """The keys of ``data.stream_options`` (docs/config.md).

    Args:
        shuffle_buffer: rows held and shuffled before batches are drawn from them; a buffer at
            least as large as the training rows draws the batches of the in-memory path.
        max_categories: most values a categorical input keeps (the most frequent).
        sample_rows: rows sampled uniformly to train the text tokenisers on.
        cache: encode the training rows once, after fitting, into a temporary folder of
            tensors that every epoch reads (:mod:`~manyheads.data._stream_cache`); False
            encodes them again every epoch (no disk used, slower with text inputs).
    """

    shuffle_buffer: int = 250_000
    max_categories: int = 100_000
    sample_rows: int = 1_000_000
    cache: bool = True


def stream_options(values: dict[str, Any]) -> StreamOptions:
    """``data.stream_options`` as :class:`StreamOptions`, or an InvalidParameterError naming
    the key, what it must be and the valid keys.

    Example:
        >>> stream_options({"shuffle_buffer": 1000}).shuffle_buffer
        1000
    """
    names = [f.name for f in fields(StreamOptions)]
    for key, value in values.items():
        if key not in names:
            raise InvalidParameterError(
                f"'data.stream_options.{key}' is not a setting; the settings are "
                f"{', '.join(names)}."
            )
        if key == "cache":
            if not isinstance(value, bool):
                raise InvalidParameterError(
                    f"'data.stream_options.cache' must be true or false; got {value!r}."
                )
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidParameterError(
                f"'data.stream_options.{key}' must be an int >= 1; got {value!r}."
            )
    return StreamOptions(**values)


@dataclass(frozen=True)
class Holdout:
    """Validation/test rows held out by a seeded hash of the global row number
    (:func:`~manyheads.data._parquet.holdout_split`); fractions of 0 hold out nothing."""

    seed: int
    valid_fraction: float
    test_fraction: float

    def train_rows(self, rows: np.ndarray) -> np.ndarray:
        """True for the rows (global numbers) that train."""
        split = holdout_split(rows, self.seed, self.valid_fraction, self.test_fraction)
        return np.asarray(split == 0, dtype=bool)

    def held_frames(
        self, source: ParquetSource, max_rows: int | None = None
    ) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        """The validation and test rows (None for a fraction of 0), read in one pass and kept
        in memory; index: the global 1-based row; ``attrs["path"]``: the directory.
        ``max_rows``: only those held out among the first ``max_rows`` rows (a preview, as
        ``validate`` reads; none may be among them)."""
        parts: dict[int, list[pd.DataFrame]] = {1: [], 2: []}
        first: pd.DataFrame | None = None
        read = 0
        for frame in source.frames(source.row_groups):
            if max_rows is not None and read >= max_rows:
                break
            first = frame.head(0) if first is None else first
            read += len(frame)
            rows = row_numbers(frame)
            split = holdout_split(rows, self.seed, self.valid_fraction, self.test_fraction)
            for k in (1, 2):
                if (split == k).any():
                    part = frame[split == k]
                    part.index = pd.Index(rows[split == k] + 1)
                    parts[k].append(part)
        out: list[pd.DataFrame | None] = []
        for k, fraction, name in (
            (1, self.valid_fraction, "valid"),
            (2, self.test_fraction, "test"),
        ):
            if fraction <= 0:
                out.append(None)
                continue
            if not parts[k] and max_rows is not None and first is not None:
                parts[k].append(first)  # a preview: no held-out row among the first rows
            if not parts[k]:
                raise DataError(
                    f"holding out {fraction:.0%} of {source.n_rows} rows for {name} leaves none; "
                    f"give a data.{name} file or raise data.{name}_fraction.",
                    path=source.path,
                )
            frame = pd.concat(parts[k])
            frame.attrs.update(path=source.path, row_word="row")
            out.append(frame)
        return out[0], out[1]


@dataclass(frozen=True)
class StreamedTrain:
    """A training split that stays on disk: its files, the held-out rows, the options."""

    source: ParquetSource
    holdout: Holdout | None
    options: StreamOptions = field(default_factory=StreamOptions)
    seed: int = 0


def open_stream(
    path: str, *, options: StreamOptions, holdout: Holdout | None, preview: int | None = None
) -> tuple[StreamedTrain, pd.DataFrame | None, pd.DataFrame | None]:
    """Open the Parquet files at ``path`` for streaming; return them with the held-out
    validation and test frames (None where ``holdout`` is None or its fraction 0; with
    ``preview``, only those among the first ``preview`` rows)."""
    source = ParquetSource(path)
    valid, test = holdout.held_frames(source, preview) if holdout is not None else (None, None)
    return StreamedTrain(source, holdout, options), valid, test
