"""Proxy rotation: each request goes through the next proxy of ``politeness.proxies``.

Runs before Scrapy's ``HttpProxyMiddleware``, which does the proxying (credentials included).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from scrapy.exceptions import NotConfigured
from scrapy.http import Request

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["RotatingProxyMiddleware"]


class RotatingProxyMiddleware:
    """Set ``request.meta["proxy"]`` round-robin over ``MANYHEADS_PROXIES``.

    Args:
        proxies: proxy URLs such as ``http://user:pass@10.0.0.1:3128``.
    """

    def __init__(self, proxies: list[str]) -> None:
        if not proxies:
            raise NotConfigured("no proxies configured")
        self._cycle = itertools.cycle(proxies)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RotatingProxyMiddleware:
        """Build from the ``MANYHEADS_PROXIES`` setting."""
        return cls(list(crawler.settings.getlist("MANYHEADS_PROXIES")))

    def process_request(self, request: Request) -> None:
        """Pick the next proxy unless the request already names one."""
        if "proxy" not in request.meta:
            request.meta["proxy"] = next(self._cycle)
