"""Resume and recrawl from the store (a downloader middleware).

A page stored by the run being resumed is not downloaded again: a stand-in response flagged
``stored`` lets the spider follow its stored links. A page stored by an earlier run is fetched
with ``If-None-Match`` / ``If-Modified-Since``, so an unchanged page costs a 304 and keeps its row.
"""

from __future__ import annotations

from scrapy.http import HtmlResponse, Request

from manyheads.crawl._component import CrawlerComponent
from manyheads.crawl._urls import canonical_url

__all__ = ["StoreAwareMiddleware"]


class StoreAwareMiddleware(CrawlerComponent):
    """Serve this run's stored pages from the store; make conditional requests for older ones."""

    def process_request(self, request: Request) -> HtmlResponse | None:
        """Short-circuit a page already stored by this run; add validators for older pages."""
        state = getattr(self.crawler.spider, "crawl_state", None)
        if state is None or not state.known:
            return None
        known = state.known.get(canonical_url(request.url))
        if known is None:
            return None
        if known.run_id == state.run_id:
            self.crawler.stats.inc_value("manyheads/resumed_from_store")
            return HtmlResponse(url=request.url, body=b"", request=request, flags=["stored"])
        if known.etag:
            request.headers.setdefault(b"If-None-Match", known.etag)
        if known.last_modified:
            request.headers.setdefault(b"If-Modified-Since", known.last_modified)
        return None
