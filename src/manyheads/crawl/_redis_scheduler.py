"""A Scrapy scheduler on the shared Redis frontier, with leases (see :mod:`._redis_frontier`).

scrapy-redis 0.9.1 runs under Scrapy 2.19 with the asyncio reactor, but its scheduler is not
used as is: it pops a request out of Redis for good (a worker killed with SIGKILL loses what it
had popped), it pickles requests (code execution for anyone who can write to the Redis server),
marks a URL seen before it is queued (a kill in between loses the URL), and passes the
deprecated ``spider`` argument to the stats (a warning on every request). What is kept from
scrapy-redis is its request fingerprint (:class:`scrapy_redis.dupefilter.RFPDupeFilter`: method,
canonical URL, body) and its set of seen fingerprints; the queue adds leases and JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from scrapy.core.scheduler import BaseScheduler
from scrapy.utils.request import request_from_dict
from scrapy_redis.dupefilter import RFPDupeFilter

from manyheads.crawl import _redis_codec
from manyheads.crawl._redis_worker import LEASE, worker_of

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler

    from manyheads.crawl._redis_worker import FrontierWorker

__all__ = ["RedisScheduler"]


class RedisScheduler(BaseScheduler):
    """Queue requests in the crawl's Redis frontier; a popped request is leased to this worker."""

    def __init__(self, crawler: Crawler, worker: FrontierWorker) -> None:
        self.crawler = crawler
        self.worker = worker
        self.frontier = worker.frontier
        self.dupefilter = RFPDupeFilter(self.frontier.client, key=self.frontier.key("seen"))
        self.spider: Spider | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build on the crawler's frontier worker."""
        return cls(crawler, worker_of(crawler))

    def open(self, spider: Spider) -> None:
        """Keep the spider (requests name its callbacks)."""
        self.spider = spider

    def has_pending_requests(self) -> bool:
        """Whether the shared queue holds requests (other workers' leases are not ours) and
        the run's page budget is not spent."""
        return self.worker.health.call(self.worker.can_pop, False)

    def enqueue_request(self, request: Request) -> bool:
        """Queue ``request`` unless seen; a redirect or retry ends the lease it continues."""
        ends = str(request.meta.get(LEASE, ""))
        fingerprint = self.dupefilter.request_fingerprint(request)
        meta = {k: v for k, v in request.meta.items() if k != LEASE}
        data = request.replace(meta=meta).to_dict(spider=self.spider)
        member = _redis_codec.dumps({"fp": fingerprint, "p": request.priority, "r": data})
        queued = self.worker.enqueue(
            fingerprint, member, request.priority, ends, request.dont_filter
        )
        self.crawler.stats.inc_value(
            "scheduler/enqueued/redis" if queued else "dupefilter/filtered"
        )
        return queued

    def next_request(self) -> Request | None:
        """Lease the next request of the shared queue, or None when it is empty."""
        member = self.worker.health.call(lambda: self.frontier.pop(self.worker.max_pages), None)
        if member is None:
            return None
        envelope = _redis_codec.loads(member)
        request = request_from_dict(envelope["r"], spider=self.spider)
        request.meta[LEASE] = envelope["fp"]
        self.crawler.stats.inc_value("scheduler/dequeued/redis")
        return request
