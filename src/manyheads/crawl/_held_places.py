"""The base of a downloader middleware that holds a place per request until its answer comes."""

from __future__ import annotations

from abc import ABC, abstractmethod

from scrapy.http import Request, Response

from manyheads.crawl._component import CrawlerComponent

__all__ = ["HeldPlaceMiddleware"]


class HeldPlaceMiddleware(CrawlerComponent, ABC):
    """``process_request`` takes a place; the response or the error gives it back.

    A host's semaphore in one process (:mod:`._distributed_hostlimit`), a host's token in the
    shared frontier (:mod:`._redis_politeness`).
    """

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
