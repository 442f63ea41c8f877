"""Helpers of :class:`~manyheads.data.streaming.StreamingTable`'s batches: rows of a table, an
epoch cut to a number of rows, and chunks computed ahead by a thread."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator

import torch
from torch import Tensor

from manyheads.data.tensors import Batch, EncodedTable

__all__ = ["limited", "prefetched", "table_rows"]

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
