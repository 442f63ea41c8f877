"""The spider's feed and sitemap callbacks: request the listed pages that are new or changed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import scrapy
from scrapy.http import Request, Response

from manyheads.crawl._feeds import (
    FeedError,
    Listed,
    needs_fetch,
    parse_feed,
    parse_sitemap,
    stored_times,
)
from manyheads.crawl._items import FailureItem, PageItem, UnchangedItem
from manyheads.crawl._pages import body_sha, page_item
from manyheads.crawl._urls import SCHEMES, canonical_url, host_allowed, split_host

if TYPE_CHECKING:
    from twisted.python.failure import Failure

    from manyheads.crawl._state import CrawlState

__all__ = ["LISTED", "ListingSpider"]

#: Request meta key: the page was listed by a feed or sitemap (its links are not followed).
LISTED = "manyheads_listed"


class ListingSpider(scrapy.Spider):
    """A spider's ``parse_feed`` and ``parse_sitemap`` callbacks; the subclass sets the state.

    Feeds and sitemaps (``follow.feeds`` / ``follow.sitemaps``, docs/crawl.md "Feeds and
    sitemaps") add the pages they list that are new or changed since stored
    (:mod:`manyheads.crawl._feeds`); the links of those pages are not followed.
    """

    crawl_state: CrawlState
    allowed_domains: list[str]
    _yielded: set[str]
    _max_bytes: int

    if TYPE_CHECKING:

        def wanted(self, url: str) -> bool:
            """Whether a link is followed (the subclass's rules)."""

        def on_error(self, failure: Failure) -> Iterator[FailureItem]:
            """Record a request that failed for good (the subclass's errback)."""

    def parse_feed(
        self, response: Response
    ) -> Iterator[PageItem | UnchangedItem | FailureItem | Request]:
        """Store the feed; request its entries that are new or changed since stored."""
        yield from self._listing(response, "feed")

    def parse_sitemap(
        self, response: Response
    ) -> Iterator[PageItem | UnchangedItem | FailureItem | Request]:
        """Store the sitemap; request its new or changed pages (an index: its sitemaps)."""
        yield from self._listing(response, "sitemap")

    def _listing(
        self, response: Response, what: str
    ) -> Iterator[PageItem | UnchangedItem | FailureItem | Request]:
        url = canonical_url(response.url)
        if "stored" in response.flags:  # read by the run being resumed
            return
        if response.status == 304:
            # An unchanged listing lists nothing new; an index's sitemaps may still have changed.
            yield UnchangedItem(url)
            children = self.crawl_state.store.links(url) if what == "sitemap" else []
            yield from self._listed_requests(
                [Listed(c, None) for c in children], self.parse_sitemap
            )
            return
        try:
            if what == "feed":
                kind, entries = "feed", parse_feed(response.body, url)
            else:
                kind, entries = parse_sitemap(_gunzipped(response.body, self._max_bytes), url)
        except FeedError as exc:
            self.crawler.stats.inc_value("manyheads/listing_errors")
            self.logger.warning("malformed %s %s: %s", what, url, exc)
            yield FailureItem(url, response.status, f"malformed {what}: {exc}")
            return
        index = kind == "sitemapindex"
        depth = int(response.meta.get("depth", 0))
        children = [e.url for e in entries] if index else []
        yield page_item(response, url, depth, links=children, body_hash=body_sha(response.body))
        self.crawler.stats.inc_value("manyheads/listed", len(entries))
        callback = self.parse_sitemap if index else self.parse
        yield from self._listed_requests(entries, callback, pages=not index)

    def _listed_requests(
        self, entries: list[Listed], callback: Callable[..., Any], *, pages: bool = False
    ) -> Iterator[Request]:
        """Requests for the listed URLs that are new, or listed as changed since stored."""
        state = self.crawl_state
        fresh = {canonical_url(e.url): e for e in entries}
        fresh = {
            u: e for u, e in fresh.items() if u not in self._yielded and self._listable(u, pages)
        }
        times = stored_times(state.store, [u for u in fresh if u in state.known])
        for url, entry in fresh.items():
            self._yielded.add(url)
            if not needs_fetch(entry, times.get(url), in_store=url in state.known):
                self.crawler.stats.inc_value("manyheads/listed_unchanged")
                continue
            meta = {LISTED: True} if pages else {}
            yield Request(url, callback=callback, errback=self.on_error, meta=meta)

    def _listable(self, url: str, page: bool) -> bool:
        """A listed page must pass the follow rules; a listed sitemap only the domain rules."""
        if page:
            return self.wanted(url)
        scheme, host = split_host(url)
        return scheme in SCHEMES and host_allowed(host, self.allowed_domains)


def _gunzipped(body: bytes, max_size: int) -> bytes:
    """A ``.xml.gz`` sitemap's XML (a server that sets Content-Encoding is unzipped by Scrapy)."""
    from scrapy.utils.gz import gunzip

    if not body.startswith(b"\x1f\x8b\x08"):  # gzip's magic number
        return body
    try:
        return gunzip(body, max_size=max_size)
    except (OSError, ValueError) as exc:  # ValueError: over limits.max_page_bytes
        raise FeedError(f"not a readable gzip file ({exc})") from None
