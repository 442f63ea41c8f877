"""How :class:`~manyheads.data.streaming.StreamingTable` draws an epoch's batches from encoded
chunks: in order or through a shuffle buffer, chunks computed ahead by a thread, the epoch cut
to a number of rows."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor

from manyheads.data.tensors import Batch, EncodedTable

__all__ = ["buffered", "in_order", "limited", "prefetched", "table_rows"]

#: encoded chunks the reading thread may hold ahead of the loop.
PREFETCH = 2


def table_rows(table: EncodedTable, index: Tensor) -> EncodedTable:
    """Rows ``index`` of ``table`` as a table."""
    batch = table.take(index)
    return EncodedTable(batch.x, batch.y, batch.mask, len(index))


def limited(batches: Iterator[Batch], n_rows: int) -> Iterator[Batch]:
    """The batches until ``n_rows`` rows have been drawn (the last one cut to fit)."""
    drawn = 0
    try:
        for batch in batches:
            size = _batch_rows(batch)
            if drawn + size > n_rows:
                size = n_rows - drawn
                if size <= 0:
                    return
                keep = torch.arange(size)
                batch = Batch(
                    {k: v[keep] for k, v in batch.x.items()},
                    {k: v[keep] for k, v in batch.y.items()},
                    {k: v[keep] for k, v in batch.mask.items()},
                )
            drawn += size
            yield batch
            if drawn >= n_rows:
                return
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()


def _batch_rows(batch: Batch) -> int:
    for tensors in (batch.x, batch.y, batch.mask):
        for v in tensors.values():
            return int(v.shape[0])
    return 0


_DONE = object()


def prefetched(items: Iterator[EncodedTable]) -> Iterator[EncodedTable]:
    """``items`` computed by a thread up to :data:`PREFETCH` ahead (pyarrow, pandas and
    torch release the GIL for much of reading and encoding); an error is raised here."""
    out: queue.Queue[object] = queue.Queue(maxsize=PREFETCH)
    stop = threading.Event()

    def work() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                out.put(item)
            out.put(_DONE)
        except BaseException as exc:
            out.put(exc)

    thread = threading.Thread(target=work, name="manyheads-stream", daemon=True)
    thread.start()
    try:
        while True:
            item = out.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, EncodedTable)
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a worker waiting on a full queue
            with contextlib.suppress(queue.Empty):
                out.get(timeout=0.05)
        thread.join()


def in_order(
    chunks: Iterator[EncodedTable], batch_size: int, drop_last: bool, pad: dict[str, int]
) -> Iterator[Batch]:
    """The rows of ``chunks`` in order, cut into batches of ``batch_size`` rows."""
    buffer: EncodedTable | None = None
    for chunk in chunks:
        buffer = chunk if buffer is None else EncodedTable.concat([buffer, chunk], pad=pad)
        n_full = buffer.n_rows // batch_size * batch_size
        for start in range(0, n_full, batch_size):
            yield buffer.take(torch.arange(start, start + batch_size))
        buffer = table_rows(buffer, torch.arange(n_full, buffer.n_rows))
    if buffer is not None and buffer.n_rows and not drop_last:
        yield buffer.take(torch.arange(buffer.n_rows))


def buffered(
    chunks: Iterator[EncodedTable],
    batch_size: int,
    generator: torch.Generator,
    shuffle_buffer: int,
    pad: dict[str, int],
    options: dict[str, Any],
) -> Iterator[Batch]:
    """Batches through a shuffle buffer: ``chunks`` (the row groups in a random order) fill
    it; each time it is full, it is shuffled and batches are drawn from it until half of it
    is left. ``options``: those of :meth:`EncodedTable.batch_indices` but ``generator``."""
    buffer: EncodedTable | None = None
    for chunk in chunks:
        buffer = chunk if buffer is None else EncodedTable.concat([buffer, chunk], pad=pad)
        if buffer.n_rows < shuffle_buffer:
            continue
        keep_all = {k: v for k, v in options.items() if k != "drop_last"}  # rows stay
        picked = buffer.batch_indices(batch_size, generator=generator, **keep_all)
        target = buffer.n_rows - shuffle_buffer // 2
        drawn = 0
        while picked and drawn < target and len(picked[0]) == batch_size:
            index = picked.pop(0)
            drawn += len(index)
            yield buffer.take(index)
        rest = torch.cat(picked) if picked else torch.zeros(0, dtype=torch.long)
        buffer = table_rows(buffer, torch.sort(rest).values)
    if buffer is not None and buffer.n_rows:
        yield from buffer.batches(batch_size, generator=generator, **options)
