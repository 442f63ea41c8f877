"""The store pipeline: flag duplicates, then upsert pages and record failures in batches.

Rows are written in batches (``MANYHEADS_BATCH`` items or one second). A crash loses at most the
unwritten batch, and those pages are fetched again on resume, so nothing is lost.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from manyheads.crawl._component import CrawlerComponent
from manyheads.crawl._dedupe import NearDuplicateIndex
from manyheads.crawl._items import FailureItem, PageItem, UnchangedItem
from manyheads.crawl._spider import ConfigSpider
from manyheads.crawl._state import CrawlState

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["StorePipeline"]


class StorePipeline(CrawlerComponent):
    """Write ``PageItem``/``UnchangedItem``/``FailureItem`` to the run's store."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.batch = crawler.settings.getint("MANYHEADS_BATCH", 200)
        self._pages: list[dict[str, Any]] = []
        self._unchanged: list[str] = []
        self._failures: list[dict[str, Any]] = []
        self._last_flush = time.monotonic()
        self._hashes: dict[str, str] = {}
        self._index: NearDuplicateIndex | None = None

    @property
    def state(self) -> CrawlState:
        """The run's shared state, held by the spider."""
        spider = self.crawler.spider
        assert isinstance(spider, ConfigSpider), "the store pipeline runs with ConfigSpider"
        return spider.crawl_state

    def open_spider(self) -> None:
        """Load what duplicate detection needs from the store."""
        store = self.state.store
        self._hashes = store.content_hashes()
        self._index = NearDuplicateIndex(self.state.config.store.near_duplicate_threshold)
        for url, signature in store.minhashes():
            self._index.add(url, signature)

    def process_item(self, item: object) -> object:
        """Queue the item's row and flush when the batch is full or a second old."""
        stats = self.crawler.stats
        if isinstance(item, PageItem):
            self._pages.append(self._row(item))
            stats.inc_value("manyheads/pages_stored")
            if item.is_item:
                stats.inc_value("manyheads/records")
        elif isinstance(item, UnchangedItem):
            self._unchanged.append(item.url)
            stats.inc_value("manyheads/unchanged")
        elif isinstance(item, FailureItem):
            row = {"run_id": self.state.run_id, "url": item.url, "status": item.status}
            self._failures.append({**row, "error": item.error})
            stats.inc_value("manyheads/failures")
        pending = len(self._pages) + len(self._unchanged) + len(self._failures)
        if pending >= self.batch or time.monotonic() - self._last_flush > 1.0:
            self.flush()
        return item

    def _row(self, item: PageItem) -> dict[str, Any]:
        duplicate_of = near_of = None
        if item.is_item:
            first = self._hashes.setdefault(item.content_hash, item.url)
            duplicate_of = first if first != item.url else None
            assert self._index is not None
            near = self._index.add(item.url, item.minhash)
            near_of = near if duplicate_of is None else None
        return {
            "url": item.url,
            "run_id": self.state.run_id,
            "status": item.status,
            "depth": item.depth,
            "content_type": item.content_type,
            "etag": item.etag,
            "last_modified": item.last_modified,
            "body_hash": item.body_hash,
            "content_hash": item.content_hash,
            "is_item": item.is_item,
            "fields": json.dumps(item.fields, ensure_ascii=False) if item.is_item else None,
            "links": json.dumps(item.links),
            "duplicate_of": duplicate_of,
            "near_duplicate_of": near_of,
            "minhash": item.minhash,
            "raw_html": item.raw_html,
        }

    def flush(self) -> None:
        """Write the queued rows."""
        store, run_id = self.state.store, self.state.run_id
        store.write_pages(self._pages)
        store.touch_pages(self._unchanged, run_id)
        store.write_failures(self._failures)
        fetched = [r["url"] for r in self._pages] + self._unchanged
        if self.state.resumed:
            store.clear_failure(run_id, fetched)
        self._pages, self._unchanged, self._failures = [], [], []
        self._last_flush = time.monotonic()

    def close_spider(self) -> None:
        """Write what is left."""
        self.flush()
