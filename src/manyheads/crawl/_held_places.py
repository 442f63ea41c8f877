"""The base of a downloader middleware that holds a place per request until its answer comes.

Used by :mod:`._distributed_hostlimit` (a host's semaphore in one process) and
:mod:`._redis_politeness` (a host's token in the shared frontier).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from scrapy.http import Request, Response

from manyheads.crawl._component import CrawlerComponent

__all__ = ["HeldPlaceMiddleware"]


class HeldPlaceMiddleware(CrawlerComponent, ABC):
    """``process_request`` takes a place; the response or the error gives it back."""

    def process_response(self, request: Request, response: Response) -> Response:
        """Give the request's place back."""
        self.release(request)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        """Give the request's place back."""
        self.release(request)

    @abstractmethod
    def release(self, request: Request) -> None:
        """Give back the place ``process_request`` took for ``request`` (none taken: nothing)."""
