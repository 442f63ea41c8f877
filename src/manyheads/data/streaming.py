"""Train on tables larger than memory: Parquet files fitted and batched in a stream.

:func:`open_stream` opens a directory of Parquet files (or one file) with ``pyarrow.dataset``
and holds out validation/test rows by a hash of the row number when no files are given
(``_stream_split``); :func:`fit_stream` fits the preprocessor in one pass (``_stream_fit``),
encodes the training rows once into a temporary tensor cache (``_stream_cache``; or again every
epoch without it) and returns a :class:`StreamingTable`, which the training loop iterates like
an :class:`~manyheads.data.tensors.EncodedTable`: its row groups are read in a seeded random
order by a background thread and batches are drawn from a shuffle buffer of ``shuffle_buffer``
rows (``_stream_batches``). :meth:`StreamingTable.shard` gives each DDP rank its own row groups.

What equals the in-memory path, on a table that fits (tested in ``tests/streaming``): the
preprocessing statistics (vocabularies identical; means and stds to float64 rounding); with a
shuffle buffer at least as large as the table and the same seed, the batches, hence the
weights and metrics; with a smaller buffer, the metrics within a stated tolerance. The user
guide is docs/config.md (``data.stream``) and docs/scale.md ("Tables larger than memory").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Unpack

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from manyheads.data._parquet import ParquetSource, RowGroup, row_numbers
from manyheads.data._stream_batches import buffered, in_order, limited, prefetched
from manyheads.data._stream_cache import EncodedCache
from manyheads.data._stream_fit import fit_streaming
from manyheads.data._stream_split import (
    Holdout,
    StreamedTrain,
    StreamOptions,
    open_stream,
    stream_options,
)
from manyheads.data.preprocess import TablePreprocessor
from manyheads.data.tensors import Batch, BatchOptions, EncodedTable
from manyheads.errors import InvalidParameterError

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

    def batches(self, batch_size: int, **options: Unpack[BatchOptions]) -> Iterator[Batch]:
        """Yield an epoch's batches (the arguments of :meth:`EncodedTable.batch_indices`).

        Without ``generator``: the rows in file order. With it: the row groups in a random
        order, rows shuffled in a buffer of ``shuffle_buffer`` rows; when the buffer holds
        every row, exactly the batches of the in-memory table with the same generator. An
        epoch draws :attr:`n_rows` rows (fewer than the shard's for a small shard's peers).
        """
        if options.get("order") is not None:
            raise InvalidParameterError(
                "A StreamingTable is read in its own order; 'order' cannot be given."
            )
        rest: dict[str, Any] = {k: v for k, v in options.items() if k != "order"}
        generator = rest.pop("generator", None)
        if generator is None:
            drop_last = bool(rest.get("drop_last", False))
            drawn = in_order(self._encoded(self.groups), batch_size, drop_last, self.pad)
        elif self.shuffle_buffer >= self.rows:
            whole = EncodedTable.concat(list(self._encoded(self.groups)), pad=self.pad)
            drawn = whole.batches(batch_size, generator=generator, **rest)
        else:
            picks = torch.randperm(len(self.groups), generator=generator).tolist()
            drawn = buffered(
                self._encoded([self.groups[i] for i in picks]),
                batch_size,
                generator,
                self.shuffle_buffer,
                self.pad,
                rest,
            )
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
