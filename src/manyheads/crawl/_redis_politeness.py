"""Per-host politeness across the workers of a distributed crawl (a downloader middleware).

Each worker's Scrapy keeps its own download delay and per-domain concurrency; with several
workers those would add up. Here a request takes a token from the frontier before it is sent
(:meth:`~._redis_frontier.Frontier.acquire`): a host gets one request every
``politeness.delay_s`` and at most ``politeness.concurrency_per_domain`` at once over all
workers. The token is given back with the response or the error; a killed worker's tokens
expire after the request timeout.
"""

from __future__ import annotations

import asyncio

from scrapy.http import Request
from scrapy.utils.httpobj import urlparse_cached

from manyheads.crawl._held_places import HeldPlaceMiddleware
from manyheads.crawl._redis_worker import worker_of

__all__ = ["SharedPolitenessMiddleware"]

_TOKEN = "manyheads_polite"


class SharedPolitenessMiddleware(HeldPlaceMiddleware):
    """Hold each request until its host's shared delay and concurrency allow it."""

    async def process_request(self, request: Request) -> None:
        """Wait for a token of the request's host."""
        settings = self.crawler.settings
        delay = settings.getfloat("MANYHEADS_SHARED_DELAY")
        concurrency = settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
        hold = settings.getfloat("DOWNLOAD_TIMEOUT") + 5.0
        host = urlparse_cached(request).hostname or ""
        frontier = worker_of(self.crawler).frontier
        while True:
            got = frontier.acquire(host, delay_s=delay, concurrency=concurrency, hold_s=hold)
            if isinstance(got, str):
                request.meta[_TOKEN] = (host, got)
                return
            await asyncio.sleep(got)

    def release(self, request: Request) -> None:
        """Give the token back."""
        held = request.meta.pop(_TOKEN, None)
        if held is not None:
            worker_of(self.crawler).frontier.release_slot(*held)
