"""``politeness.concurrency_per_domain`` as a hard limit in one process (a downloader middleware).

Scrapy 2.19's downloader starts each request of a slot as a task and counts it as transferring
only once the task runs, so with no download delay (``politeness.delay_s: 0``, AutoThrottle off)
one pass over the slot's queue sends all of it: a local site saw 14 requests at once with
``CONCURRENT_REQUESTS_PER_DOMAIN = 2`` (``Downloader._process_queue``). Here each host gets a
semaphore of ``CONCURRENT_REQUESTS_PER_DOMAIN``, held from just before the request is sent until
its response or error. A distributed crawl uses the frontier's shared tokens instead
(:mod:`._redis_politeness`). Used by every one-process crawl (:mod:`._settings`).
"""

from __future__ import annotations

import asyncio

from scrapy.http import Request
from scrapy.utils.httpobj import urlparse_cached

from manyheads.crawl._held_places import HeldPlaceMiddleware

__all__ = ["HostLimitMiddleware"]

_HELD = "manyheads_host_slot"


class HostLimitMiddleware(HeldPlaceMiddleware):
    """Hold each request until fewer than ``CONCURRENT_REQUESTS_PER_DOMAIN`` are out to its host."""

    _slots: dict[str, asyncio.Semaphore]

    async def process_request(self, request: Request) -> None:
        """Wait for a free place among the host's requests in flight."""
        slots = self.__dict__.setdefault("_slots", {})
        host = urlparse_cached(request).hostname or ""
        if host not in slots:
            limit = self.crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
            slots[host] = asyncio.Semaphore(limit)
        await slots[host].acquire()
        request.meta[_HELD] = host

    def release(self, request: Request) -> None:
        """Free the host's place."""
        host = request.meta.pop(_HELD, None)
        if host is not None:
            self._slots[host].release()
