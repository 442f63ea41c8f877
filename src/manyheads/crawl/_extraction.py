"""Run field extraction beside the crawl: in worker processes, or inline when there are none.

Main-text extraction costs tens of milliseconds a page; Scrapy's reactor is one thread. Worker
processes keep downloads and link following at full speed while pages are parsed into fields.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from manyheads.crawl._fields import PageContent, extract_page
from manyheads.crawl._specs import ItemsSpec

__all__ = ["Extractor", "default_workers"]


def default_workers(items: ItemsSpec) -> int:
    """Workers to use: ``items.workers`` if set, else one per spare CPU when main text is read.

    Example:
        >>> from manyheads.crawl._specs import ItemsSpec, FieldSpec
        >>> default_workers(ItemsSpec(fields=(FieldSpec("t", css="h1"),)))
        0
    """
    if items.workers is not None:
        return items.workers
    if not any(f.extract is not None for f in items.fields):
        return 0
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def _watch_parent(parent: int) -> None:
    """Exit this worker when the crawl process dies (even by SIGKILL)."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _warm() -> None:
    """Import the extraction libraries in a worker before the first page arrives."""
    import trafilatura  # noqa: F401


class Extractor:
    """Extract item fields, inline or in ``workers`` processes.

    Args:
        items: the item spec (fields to read).
        keep_raw: also return the compressed body.
        workers: number of worker processes (0 = inline).
    """

    def __init__(self, items: ItemsSpec, *, keep_raw: bool, workers: int) -> None:
        self.specs = items.fields
        self.keep_raw = keep_raw
        self._pool: ProcessPoolExecutor | None = None
        if workers > 0:
            # Fork before the reactor runs (the spider is built before it starts): workers inherit
            # the imported modules instead of importing the whole package again.
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            context = multiprocessing.get_context(method)
            self._pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=context,
                initializer=_watch_parent,
                initargs=(os.getpid(),),
            )
            for _ in range(workers):
                self._pool.submit(_warm)

    async def extract(self, body: bytes, encoding: str, url: str) -> PageContent:
        """Fields, content hash, MinHash and (optionally) the compressed body of one page."""
        if self._pool is None:
            return extract_page(body, encoding, url, self.specs, keep_raw=self.keep_raw)
        future = self._pool.submit(
            extract_page, body, encoding, url, self.specs, keep_raw=self.keep_raw
        )
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        """Stop the workers."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
