"""One worker of a distributed crawl: heartbeat, leases ended after the store commit, the end.

Scrapy components, enabled by :func:`._settings.build_settings` when a crawl has a frontier:

- :class:`FrontierWorker` (extension): keeps the heartbeat, moves dead workers' leases back to
  the queue, asks the engine for work every 0.1 s (another worker may queue links at any time),
  and lets the spider close only when no request is queued or leased anywhere;
- :class:`LeaseMiddleware` (spider middleware) and the item signals: a fetched request's lease
  ends after the row its page produced is committed (:class:`FrontierStorePipeline`), so a
  worker killed at any moment leaves its unfinished requests to the others.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import CloseSpider, DontCloseSpider, NotConfigured
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

from manyheads.crawl._component import CrawlerComponent
from manyheads.crawl._items import FailureItem, PageItem, UnchangedItem
from manyheads.crawl._pipelines import StorePipeline
from manyheads.crawl._redis_frontier import LEASE_S, Frontier, connect
from manyheads.crawl._redis_health import FRONTIER_LOST, FrontierHealth, frontier_timeout

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response

__all__ = [
    "LEASE",
    "FrontierStorePipeline",
    "FrontierWorker",
    "LeaseMiddleware",
    "worker_of",
]

logger = logging.getLogger(__name__)

#: The close reason once the run's workers were handed ``limits.max_pages`` requests together
#: (the frontier counts them: :meth:`.Frontier.pop`); Scrapy's own for a one-process crawl.
PAGE_BUDGET = "closespider_pagecount"
#: The request meta key holding the fingerprint of the lease a request is working on.
LEASE = "manyheads_lease"
_ITEMS = (PageItem, UnchangedItem, FailureItem)
_WORKERS: weakref.WeakKeyDictionary[Crawler, FrontierWorker] = weakref.WeakKeyDictionary()


def worker_of(crawler: Crawler) -> FrontierWorker:
    """The crawler's frontier worker (made on first use, from the ``MANYHEADS_FRONTIER_*`` keys).

    Raises:
        NotConfigured: the crawl has no frontier.
    """
    worker = _WORKERS.get(crawler)
    if worker is None:
        settings = crawler.settings
        url = settings.get("MANYHEADS_FRONTIER_URL")
        if not url:
            raise NotConfigured("no frontier")
        frontier = Frontier(
            connect(url),
            settings["MANYHEADS_FRONTIER_CRAWL"],
            settings.getint("MANYHEADS_FRONTIER_RUN"),
            worker=settings["MANYHEADS_FRONTIER_WORKER"],
        )
        worker = _WORKERS[crawler] = FrontierWorker(crawler, frontier, frontier_timeout())
    return worker


class FrontierWorker:
    """The worker's side of the frontier (a Scrapy extension; see the module docstring)."""

    def __init__(self, crawler: Crawler, frontier: Frontier, timeout_s: float) -> None:
        self.crawler = crawler
        self.frontier = frontier
        self.health = FrontierHealth(timeout_s)  # Redis may stop answering (_redis_health)
        #: ``limits.max_pages`` for the whole run (requests handed out to every worker), 0: none.
        self.max_pages = crawler.settings.getint("MANYHEADS_MAX_PAGES")
        self.done: set[str] = set()  # leases whose rows wait for the next commit
        #: ``enqueue`` arguments Redis did not take: queued again before any lease ends.
        self.unqueued: list[tuple[str, str, int, str, bool]] = []
        self.pipeline: FrontierStorePipeline | None = None
        self._loop: task.LoopingCall | None = None
        self._beat = 0.0
        self._stop = threading.Event()
        self._heart = threading.Thread(target=self._beat_forever, daemon=True)
        self._flushed = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FrontierWorker:
        """Connect the signals (``NotConfigured`` without a frontier)."""
        worker = worker_of(crawler)
        connect_ = crawler.signals.connect
        connect_(worker.opened, signal=signals.spider_opened)
        connect_(worker.idle, signal=signals.spider_idle)
        connect_(worker.closed, signal=signals.spider_closed)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            connect_(worker.item_done, signal=signal)
        return worker

    # ---- signals ------------------------------------------------------------------------------

    def opened(self) -> None:
        """Register with a heartbeat (a thread), then tick every 0.1 s."""
        self.frontier.heartbeat()
        self._heart.start()
        self._loop = task.LoopingCall(self.tick)
        self._loop.start(0.1, now=False)

    def _beat_forever(self) -> None:
        # A thread, not a reactor call: a reactor busy for seconds (a slow store write, a
        # loaded machine) must not look like a dead worker. It dies with the process.
        while not self._stop.wait(LEASE_S / 5):
            self.health.call(self.frontier.heartbeat, None)  # a failure: the next beat retries

    def tick(self) -> None:
        """Recover dead workers and commit every second; ask the engine for work. Close the
        spider once the frontier is lost."""
        if self.health.lost is not None:
            self._close(FRONTIER_LOST)
            return
        self.health.call(self._tick, None)

    def can_pop(self) -> bool:
        """Whether a request is queued and the run may still hand one out."""
        budget = not self.max_pages or self.frontier.pages() < self.max_pages
        return budget and self.frontier.queued() > 0

    def _close(self, reason: str) -> None:
        slot = getattr(self.crawler.engine, "_slot", None)  # no public "is it closing"
        if slot is not None and slot.closing is None:
            deferred_from_coro(self.crawler.engine.close_spider_async(reason=reason))

    def _tick(self) -> None:
        now = time.monotonic()
        self._queue_held()
        if now - self._beat >= LEASE_S / 5:
            self._beat = now
            self._recover()
        if self.done and now - self._flushed >= 1.0:
            self.commit()
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is not None and slot.closing is None and self.can_pop():
            slot.nextcall.schedule()

    def enqueue(self, fingerprint: str, member: str, priority: int, ends: str, force: bool) -> bool:
        """Queue a request in the frontier (:meth:`.Frontier.enqueue`); kept here and queued
        again by the next tick when Redis does not answer (counted as queued)."""
        import redis

        try:
            self._queue_held()
            return self.frontier.enqueue(fingerprint, member, priority, ends=ends, force=force)
        except redis.RedisError as exc:
            self.unqueued.append((fingerprint, member, priority, ends, force))
            self.health.failed(exc)
            return True

    def _queue_held(self) -> None:
        while self.unqueued:
            fingerprint, member, priority, ends, force = self.unqueued[0]
            self.frontier.enqueue(fingerprint, member, priority, ends=ends, force=force)
            self.unqueued.pop(0)

    def item_done(self, item: Any, response: Any) -> None:  # noqa: ANN401 (Scrapy's signal)
        """An item went through the pipeline: its lease ends with the next commit."""
        if isinstance(item, _ITEMS):
            request = getattr(response, "request", None)
            lease = request.meta.get(LEASE) if request is not None else None
            if lease:
                self.done.add(str(lease))

    def idle(self) -> None:
        """Close only when nothing is queued or leased by any worker, else keep polling (and
        while Redis does not answer: the tick closes the spider once it is lost)."""
        if self.health.lost is None and self.health.call(self._finished, False):
            return
        if self.max_pages and self.health.call(self.frontier.pages, 0) >= self.max_pages:
            raise CloseSpider(PAGE_BUDGET)
        raise DontCloseSpider

    def _finished(self) -> bool:
        self._queue_held()
        self.commit()
        # Idle: nothing is in flight here, so a lease still held is finished work.
        self.frontier.client.delete(self.frontier.leases_key)
        self._recover()
        return self.frontier.pending() == 0

    def closed(self, reason: str) -> None:
        """Give unfinished leases back, add the stats to the run's, leave."""
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._stop.set()
        if self.health.lost is not None:  # the rows to the store; the leases stay in Redis
            if self.pipeline is not None:
                self.pipeline.write()
            return
        self.commit()
        requeued = self.frontier.requeue_own()
        if requeued:
            self.crawler.stats.set_value("manyheads/requeued", requeued)
        self.frontier.add_stats(dict(self.crawler.stats.get_stats()))
        self.frontier.leave()

    def _recover(self) -> None:
        recovered = self.frontier.recover()
        if recovered:
            self.crawler.stats.inc_value("manyheads/recovered", recovered)
            logger.warning("requeued %d requests of workers whose heartbeat expired", recovered)

    # ---- leases -------------------------------------------------------------------------------

    def commit(self) -> None:
        """Write the pipeline's rows, then end the leases whose rows were among them (not
        while a request they produced waits to be queued: a lease ends only after its links
        are in Redis)."""
        ending, self.done = self.done, set()
        try:
            if self.pipeline is not None:
                self.pipeline.write()
            self._queue_held()
            self.frontier.release(ending)
        except BaseException:
            self.done |= ending
            raise
        self._flushed = time.monotonic()


class LeaseMiddleware(CrawlerComponent):
    """End the lease of a response that yields no item (a page served from the store).

    Its lease ends with the next commit, like an item's, after its links are queued.
    """

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        """Pass the output through; note a lease whose response yielded no item."""
        items = 0
        async for output in result:
            items += isinstance(output, _ITEMS)
            yield output
        lease = response.request.meta.get(LEASE) if response.request is not None else None
        if not items and lease:
            worker_of(self.crawler).done.add(str(lease))


class FrontierStorePipeline(StorePipeline):
    """The store pipeline; each write ends the leases of the rows it committed."""

    def open_spider(self) -> None:
        """Load duplicate detection; let the worker commit through this pipeline."""
        super().open_spider()
        worker_of(self.crawler).pipeline = self

    def write(self) -> None:
        """The plain write of :meth:`StorePipeline.flush`."""
        super().flush()

    def flush(self) -> None:
        """Write the queued rows and end the leases they finish (the leases at a later
        commit when Redis does not answer)."""
        worker = worker_of(self.crawler)
        if worker.health.lost is not None:
            self.write()
            return
        worker.health.call(worker.commit, None)
