"""A progress line on stderr: pages, records, failures and the current rate (a Scrapy extension).

Enabled by ``MANYHEADS_PROGRESS_S`` > 0 (seconds between lines).
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["ProgressLine", "progress_text"]


def progress_text(stats: dict[str, Any], rate: float) -> str:
    """The progress line for a stats dict.

    Example:
        >>> progress_text({"response_received_count": 12, "manyheads/records": 10}, 3.25)
        'crawl: 12 pages, 10 records, 0 unchanged, 0 failures, 3.2 pages/s'
    """
    pages = stats.get("response_received_count", 0)
    records = stats.get("manyheads/records", 0)
    unchanged = stats.get("manyheads/unchanged", 0)
    failures = stats.get("manyheads/failures", 0)
    return (
        f"crawl: {pages} pages, {records} records, {unchanged} unchanged, "
        f"{failures} failures, {rate:.1f} pages/s"
    )


class ProgressLine:
    """Print :func:`progress_text` every ``interval`` seconds and once at the end."""

    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        self._loop: task.LoopingCall | None = None
        self._last = (time.monotonic(), 0)
        self._tty = sys.stderr.isatty()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressLine:
        """Build from ``MANYHEADS_PROGRESS_S``; ``NotConfigured`` when it is 0."""
        interval = crawler.settings.getfloat("MANYHEADS_PROGRESS_S", 0.0)
        if interval <= 0:
            raise NotConfigured
        ext = cls(crawler, interval)
        crawler.signals.connect(ext.opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        return ext

    def opened(self) -> None:
        """Start the periodic line."""
        self._loop = task.LoopingCall(self.tick)
        self._loop.start(self.interval, now=False)

    def _line(self) -> str:
        now = time.monotonic()
        pages = self.crawler.stats.get_value("response_received_count", 0)
        then, before = self._last
        self._last = (now, pages)
        return progress_text(
            self.crawler.stats.get_stats(), (pages - before) / max(now - then, 1e-9)
        )

    def tick(self) -> None:
        """Print the line (rewritten in place on a terminal)."""
        line = self._line()
        print(f"\r{line}" if self._tty else line, end="" if self._tty else "\n", file=sys.stderr)

    def closed(self) -> None:
        """Stop and print the final line."""
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        start = self.crawler.stats.get_value("start_time")
        pages = self.crawler.stats.get_value("response_received_count", 0)
        elapsed = time.time() - start.timestamp() if start is not None else 0.0
        text = progress_text(self.crawler.stats.get_stats(), pages / max(elapsed, 1e-9))
        print(("\r" if self._tty else "") + text + " (done)", file=sys.stderr)
