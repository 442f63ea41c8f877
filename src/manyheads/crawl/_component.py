"""The base of a Scrapy component that keeps its crawler (stats, settings, the spider's state).

Scrapy builds middlewares and pipelines with ``from_crawler``; most of ours need nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["CrawlerComponent"]


class CrawlerComponent:
    """A component built from, and holding, the crawler that runs it."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build the component (Scrapy calls this)."""
        return cls(crawler)
