"""Train on tables larger than memory: Parquet files fitted and batched in a stream.

:func:`open_stream` opens a directory of Parquet files (or one file) with ``pyarrow.dataset``
and holds out validation/test rows by a hash of the row number when no files are given;
:func:`fit_stream` fits the preprocessor in one pass (``_stream_fit``), encodes the training rows
once into a temporary tensor cache (``_stream_cache``; or again every epoch without it) and
returns a :class:`StreamingTable`, which the training loop iterates like an
:class:`~manyheads.data.tensors.EncodedTable`: its row groups are read in a seeded random order
by a background thread and batches are drawn from a shuffle buffer of ``shuffle_buffer`` rows.
:meth:`StreamingTable.shard` gives each DDP rank its own row groups.

What equals the in-memory path, on a table that fits (tested in ``tests/streaming``): the
preprocessing statistics (vocabularies identical; means and stds to float64 rounding); with a
shuffle buffer at least as large as the table and the same seed, the batches, hence the
weights and metrics; with a smaller buffer, the metrics within a stated tolerance. The user
guide is docs/config.md (``data.stream``) and docs/scale.md ("Tables larger than memory").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from manyheads.data._parquet import ParquetSource, RowGroup, holdout_split, row_numbers
from manyheads.data._stream_batches import limited, prefetched, table_rows
from manyheads.data._stream_cache import EncodedCache
from manyheads.data._stream_fit import fit_streaming
from manyheads.data.preprocess import TablePreprocessor
from manyheads.data.tensors import Batch, EncodedTable
from manyheads.errors import DataError, InvalidParameterError

__all__ = [
    "Holdout",
    "StreamOptions",
    "StreamedTrain",
    "StreamingTable",
    "fit_stream",
    "open_stream",
    "stream_options",
]

#: rows of the encoded sample kept as :attr:`StreamingTable.x` (encoder options, lengths).
SAMPLE_X_ROWS = 100_000


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

    def held_frames(self, source: ParquetSource) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        """The validation and test rows (None for a fraction of 0), read in one pass and kept
        in memory; index: the global 1-based row; ``attrs["path"]``: the directory."""
        parts: dict[int, list[pd.DataFrame]] = {1: [], 2: []}
        for frame in source.frames(source.row_groups):
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
    path: str, *, options: StreamOptions, holdout: Holdout | None
) -> tuple[StreamedTrain, pd.DataFrame | None, pd.DataFrame | None]:
    """Open the Parquet files at ``path`` for streaming; return them with the held-out
    validation and test frames (None where ``holdout`` is None or its fraction 0)."""
    source = ParquetSource(path)
    valid, test = holdout.held_frames(source) if holdout is not None else (None, None)
    return StreamedTrain(source, holdout, options), valid, test


def fit_stream(pre: TablePreprocessor, train: StreamedTrain) -> StreamingTable:
    """Fit ``pre`` on the streamed training rows in one pass; the :class:`StreamingTable`."""
    keep = train.holdout.train_rows if train.holdout is not None else None
    opts = train.options
    fitted = fit_streaming(
        pre,
        train.source,
        train.source.row_groups,
        keep=keep,
        max_categories=opts.max_categories,
        sample_rows=opts.sample_rows,
        seed=train.seed,
    )
    assert fitted.sample is not None
    sample = pre.transform(fitted.sample.iloc[:SAMPLE_X_ROWS])
    table = StreamingTable(
        train.source,
        pre,
        train.source.row_groups,
        keep=keep,
        shuffle_buffer=opts.shuffle_buffer,
        sample=sample,
    )
    table.capped = fitted.capped
    if opts.cache:
        table.build_cache()
    return table


class StreamingTable:
    """Training rows read from Parquet files and encoded chunk by chunk, epoch after epoch.

    It has what the training loop uses of an :class:`EncodedTable`: :meth:`batches`,
    :attr:`n_rows`, :meth:`labelled_counts`, :meth:`mean_length`, and ``x`` (the encoded
    inputs of a uniform sample of at most :data:`SAMPLE_X_ROWS` rows, from which encoder
    options such as quantile bins are fitted).

    Args:
        source: the Parquet files.
        pre: the fitted preprocessor.
        groups: the row groups to read (a shard's own).
        keep: global row numbers -> True for training rows (None: all).
        shuffle_buffer: rows shuffled together before batches are drawn.
        sample: the encoded sample (``x``).
        rows_per_epoch: rows an epoch draws (a shard: the smallest shard's rows), default all.
        cache: the encoded rows on disk (:meth:`build_cache`), else encoded every epoch.
    """

    sampler = None

    def __init__(
        self,
        source: ParquetSource,
        pre: TablePreprocessor,
        groups: list[RowGroup],
        *,
        keep: Callable[[np.ndarray], np.ndarray] | None = None,
        shuffle_buffer: int,
        sample: EncodedTable,
        rows_per_epoch: int | None = None,
        cache: EncodedCache | None = None,
    ) -> None:
        self.source = source
        self.pre = pre
        self.groups = list(groups)
        self.keep = keep
        self.shuffle_buffer = shuffle_buffer
        self.sample = sample
        self.rows = sum(self._group_rows(g) for g in self.groups)
        self.n_rows = self.rows if rows_per_epoch is None else min(rows_per_epoch, self.rows)
        self.pad = {f"ids:{col}": tok.pad_id_ for col, tok in pre.sequence_.items()}
        self.capped: dict[str, int] = {}
        self._counts: dict[str, int] | None = None
        self.cache = cache

    def _group_rows(self, group: RowGroup) -> int:
        if self.keep is None:
            return group.n_rows
        rows = np.arange(group.start, group.start + group.n_rows, dtype=np.int64)
        return int(self.keep(rows).sum())

    # -- what the loop reads ------------------------------------------------------------------
    @property
    def x(self) -> dict[str, Tensor]:
        """The encoded inputs of the sample (not of every row)."""
        return self.sample.x

    def lengths(self) -> Tensor | None:
        """None: rows are only read while batching (length grouping happens in the buffer)."""
        return None

    def mean_length(self) -> float | None:
        """Mean real tokens per row of the sample, None without a text input."""
        return self.sample.mean_length()

    def labelled_counts(self) -> dict[str, int]:
        """Labelled training rows per task (one pass over the label columns, then cached)."""
        if self._counts is None:
            counts = dict.fromkeys((t.name for t in self.pre.tasks), 0)
            columns = list(dict.fromkeys(c for t in self.pre.tasks for c in t.label_columns))
            for frame in self._frames(self.groups, columns):
                path = str(frame.attrs["path"])
                for fitted in self.pre.fitted_tasks:
                    _, mask = fitted.encode(frame, path, unseen=self.pre.unseen_labels)
                    counts[fitted.name] += int(mask.reshape(len(frame), -1).any(dim=1).sum())
            self._counts = counts
        return dict(self._counts)

    def build_cache(self) -> None:
        """Encode every training row once into an :class:`EncodedCache` that the epochs
        read (counting the labelled rows per task on the way)."""
        cache = EncodedCache()
        counts = dict.fromkeys((t.name for t in self.pre.tasks), 0)
        columns = self._columns()
        for group in self.groups:
            for frame in self._frames([group], columns):
                table = self.pre.transform(frame)
                cache.write(group.start, table)
                for name, mask in table.mask.items():
                    counts[name] += int(mask.reshape(table.n_rows, -1).any(dim=1).sum())
        self.cache, self._counts = cache, counts

    def shard(self, rank: int, world_size: int) -> StreamingTable:
        """The rows of DDP rank ``rank`` of ``world_size``: every ``world_size``-th row group
        from the ``rank``-th. Every rank draws as many rows per epoch as the smallest shard
        holds, so that all ranks take the same number of steps.

        Raises:
            InvalidParameterError: a rank outside ``[0, world_size)``, or fewer row groups than
                ranks.
        """
        if not 0 <= rank < world_size:
            raise InvalidParameterError(
                f"The 'rank' of StreamingTable.shard must be in [0, {world_size}); got {rank}."
            )
        if len(self.groups) < world_size:
            raise InvalidParameterError(
                f"{self.source.path} has {len(self.groups)} row groups, fewer than the "
                f"{world_size} ranks: write the Parquet files with smaller row groups "
                "(pyarrow's row_group_size) so that every rank reads some."
            )
        shards = [self.groups[r::world_size] for r in range(world_size)]
        smallest = min(sum(self._group_rows(g) for g in s) for s in shards)
        table = StreamingTable(
            self.source,
            self.pre,
            shards[rank],
            keep=self.keep,
            shuffle_buffer=self.shuffle_buffer,
            sample=self.sample,
            rows_per_epoch=smallest,
            cache=self.cache,
        )
        table.capped = self.capped
        return table

    def batches(
        self,
        batch_size: int,
        *,
        generator: torch.Generator | None = None,
        drop_last: bool = False,
        group_by_length: bool = False,
        batch_tokens: int | None = None,
        order: Tensor | None = None,
    ) -> Iterator[Batch]:
        """Yield an epoch's batches (the arguments of :meth:`EncodedTable.batch_indices`).

        Without ``generator``: the rows in file order. With it: the row groups in a random
        order, rows shuffled in a buffer of ``shuffle_buffer`` rows; when the buffer holds
        every row, exactly the batches of the in-memory table with the same generator. An
        epoch draws :attr:`n_rows` rows (fewer than the shard's for a small shard's peers).
        """
        if order is not None:
            raise InvalidParameterError(
                "A StreamingTable is read in its own order; 'order' cannot be given."
            )
        options: dict[str, Any] = {
            "drop_last": drop_last,
            "group_by_length": group_by_length,
            "batch_tokens": batch_tokens,
        }
        if generator is None:
            drawn = self._in_order(batch_size, drop_last)
        elif self.shuffle_buffer >= self.rows:
            drawn = self._whole(batch_size, generator, options)
        else:
            drawn = self._buffered(batch_size, generator, options)
        yield from limited(drawn, self.n_rows)

    # -- reading ------------------------------------------------------------------------------
    def _columns(self) -> list[str]:
        labels = (c for t in self.pre.tasks for c in t.label_columns)
        return list(dict.fromkeys([*self.pre.inputs, *labels]))

    def _frames(self, groups: list[RowGroup], columns: list[str]) -> Iterator[pd.DataFrame]:
        for frame in self.source.frames(groups, columns):
            if self.keep is not None:
                kept = self.keep(row_numbers(frame))
                frame = frame[kept]
            if len(frame):
                yield frame

    def _encoded(self, groups: list[RowGroup]) -> Iterator[EncodedTable]:
        """The encoded chunks of ``groups``, read (and encoded) ahead by a thread."""
        columns = self._columns()
        cache = self.cache

        def chunks() -> Iterator[EncodedTable]:
            if cache is not None:
                for group in groups:
                    yield from cache.read(group.start)
                return
            for frame in self._frames(groups, columns):
                yield self.pre.transform(frame)

        return prefetched(chunks())

    def _whole(
        self, batch_size: int, generator: torch.Generator, options: dict[str, Any]
    ) -> Iterator[Batch]:
        chunks = list(self._encoded(self.groups))
        table = EncodedTable.concat(chunks, pad=self.pad)
        yield from table.batches(batch_size, generator=generator, **options)

    def _in_order(self, batch_size: int, drop_last: bool) -> Iterator[Batch]:
        buffer: EncodedTable | None = None
        for chunk in self._encoded(self.groups):
            buffer = chunk if buffer is None else EncodedTable.concat([buffer, chunk], pad=self.pad)
            n_full = buffer.n_rows // batch_size * batch_size
            for start in range(0, n_full, batch_size):
                yield buffer.take(torch.arange(start, start + batch_size))
            buffer = table_rows(buffer, torch.arange(n_full, buffer.n_rows))
        if buffer is not None and buffer.n_rows and not drop_last:
            yield buffer.take(torch.arange(buffer.n_rows))

    def _buffered(
        self, batch_size: int, generator: torch.Generator, options: dict[str, Any]
    ) -> Iterator[Batch]:
        """Row groups in a random order; each time the buffer is full, it is shuffled and
        batches are drawn from it until half of it is left."""
        picks = torch.randperm(len(self.groups), generator=generator).tolist()
        buffer: EncodedTable | None = None
        for chunk in self._encoded([self.groups[i] for i in picks]):
            buffer = chunk if buffer is None else EncodedTable.concat([buffer, chunk], pad=self.pad)
            if buffer.n_rows < self.shuffle_buffer:
                continue
            keep_all = {k: v for k, v in options.items() if k != "drop_last"}  # rows stay
            chunks = buffer.batch_indices(batch_size, generator=generator, **keep_all)
            target = buffer.n_rows - self.shuffle_buffer // 2
            drawn = 0
            while chunks and drawn < target and len(chunks[0]) == batch_size:
                index = chunks.pop(0)
                drawn += len(index)
                yield buffer.take(index)
            rest = torch.cat(chunks) if chunks else torch.zeros(0, dtype=torch.long)
            buffer = table_rows(buffer, torch.sort(rest).values)
        if buffer is not None and buffer.n_rows:
            yield from buffer.batches(batch_size, generator=generator, **options)
