"""Record spider errors as failures (a spider middleware), so that no page vanishes in a log line.

Request failures (HTTP errors after retries, timeouts, refusals) reach the spider's errback.
This middleware catches what goes wrong while a response is being processed (a parser or
extractor error, a dead extraction worker): the page is recorded as a failure with the error.
"""

from __future__ import annotations

from collections.abc import Iterable

from scrapy.http import Response

from manyheads.crawl._component import CrawlerComponent
from manyheads.crawl._items import FailureItem
from manyheads.crawl._urls import canonical_url

__all__ = ["SpiderErrorMiddleware"]


class SpiderErrorMiddleware(CrawlerComponent):
    """Turn an exception raised by a callback into a :class:`FailureItem` for its page."""

    def process_spider_exception(
        self, response: Response, exception: Exception
    ) -> Iterable[FailureItem]:
        """Yield the failure; Scrapy still counts the exception in its stats."""
        error = f"spider error: {type(exception).__name__}: {exception}".strip()
        self.crawler.stats.inc_value("manyheads/spider_errors")
        return [FailureItem(canonical_url(response.url), response.status, error)]
