"""The config-driven spider: follow links by the config's rules, turn matching pages into items.

Feeds and sitemaps (``follow.feeds`` / ``follow.sitemaps``) are read by the callbacks it inherits
from :class:`~manyheads.crawl._listings.ListingSpider`.

Every callback result goes through Scrapy's machinery (depth, dupefilter, offsite, robots,
retries, redirects); the spider only decides what to request and what to yield.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import TYPE_CHECKING, ClassVar

from scrapy import signals
from scrapy.http import HtmlResponse, Request, Response, TextResponse
from scrapy.linkextractors import IGNORED_EXTENSIONS, LinkExtractor
from twisted.python.failure import Failure

from manyheads.crawl._extraction import Extractor, default_workers
from manyheads.crawl._items import FailureItem, PageItem, UnchangedItem
from manyheads.crawl._listings import LISTED, ListingSpider
from manyheads.crawl._pages import body_sha, describe_failure, looks_binary, page_item
from manyheads.crawl._state import CrawlState
from manyheads.crawl._urls import SCHEMES, canonical_url, has_extension, host_allowed, split_host

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["ConfigSpider", "describe_failure", "looks_binary"]

_IGNORED = frozenset(f".{ext}" for ext in IGNORED_EXTENSIONS)  # Scrapy's list: images, archives ...


class ConfigSpider(ListingSpider):
    """Crawl what a :class:`~manyheads.crawl._specs.CrawlConfig` describes.

    Args:
        crawl_state: the run's shared state (config, store, run id, known pages).
    """

    name = "manyheads"
    # Conditional recrawl: "304 Not Modified" reaches parse().
    handle_httpstatus_list: ClassVar[list[int]] = [304]

    def __init__(
        self, name: str | None = None, *, crawl_state: CrawlState, **kwargs: object
    ) -> None:
        super().__init__(name, **kwargs)
        config = crawl_state.config
        self.crawl_state = crawl_state
        self.allowed_domains = list(config.allowed_domains)
        # Scrapy's extension filter tests ~100 suffixes per link; a set lookup does the same.
        self._links = LinkExtractor(
            tags=("a", "area"), attrs=("href",), unique=True, deny_extensions=[]
        )
        self._allow = [re.compile(p) for p in config.follow.allow]
        self._deny = [re.compile(p) for p in config.follow.deny]
        self._match = re.compile(config.items.match) if config.items.match else None
        self._max_depth = config.follow.max_depth
        self._max_bytes = config.limits.max_page_bytes
        self._yielded: set[str] = set()
        self._extractor = Extractor(
            config.items,
            keep_raw=config.store.raw_html,
            workers=default_workers(config.items),
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: object, **kwargs: object) -> ConfigSpider:
        """Create the spider and stop its extraction workers when it closes."""
        spider: ConfigSpider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._on_closed, signal=signals.spider_closed)
        return spider

    def _on_closed(self) -> None:
        self._extractor.close()

    async def start(self) -> AsyncIterator[Request]:
        """One request per start URL (filtered like any other, so it is fetched once)."""
        for url in self.crawl_state.config.start_urls:
            link = canonical_url(url)
            self._yielded.add(link)
            yield Request(link, callback=self.parse, errback=self.on_error)
        follow = self.crawl_state.config.follow
        for urls, callback in (
            (follow.feeds, self.parse_feed),
            (follow.sitemaps, self.parse_sitemap),
        ):
            for url in urls:
                link = canonical_url(url)
                self._yielded.add(link)
                yield Request(link, callback=callback, errback=self.on_error)

    # ---- rules ----------------------------------------------------------------------------

    def wanted(self, url: str) -> bool:
        """Whether a link is followed: an http(s) URL on an allowed domain, matching the rules."""
        scheme, host = split_host(url)
        if scheme not in SCHEMES or not host_allowed(host, self.allowed_domains):
            return False
        if any(p.search(url) for p in self._deny):
            return False
        if not self._allow:
            return True
        return any(p.search(url) for p in self._allow) or bool(
            self._match and self._match.search(url)
        )

    def _page_links(self, response: TextResponse) -> list[str]:
        seen: dict[str, None] = {}
        for link in self._links.extract_links(response):
            scheme, host = split_host(link.url)
            if scheme not in SCHEMES or not host_allowed(host, self.allowed_domains):
                continue
            if not has_extension(link.url, _IGNORED):
                seen.setdefault(canonical_url(link.url), None)
        return list(seen)

    def _follow(self, links: Iterable[str], depth: int) -> Iterator[Request]:
        if self._max_depth and depth + 1 > self._max_depth:
            return
        for url in links:
            if url in self._yielded or not self.wanted(url):
                continue
            self._yielded.add(url)
            yield Request(url, callback=self.parse, errback=self.on_error)

    # ---- callbacks --------------------------------------------------------------------------

    async def parse(
        self, response: Response
    ) -> AsyncIterator[PageItem | UnchangedItem | FailureItem | Request]:
        """Yield the page's item (or why it is unchanged), then requests for its links."""
        url = canonical_url(response.url)
        depth = int(response.meta.get("depth", 0))
        state = self.crawl_state
        follows = not response.meta.get(LISTED)
        if "stored" in response.flags or response.status == 304:
            if response.status == 304:
                yield UnchangedItem(url)
            for request in self._follow(state.store.links(url) if follows else [], depth):
                yield request
            return
        if not isinstance(response, TextResponse):
            yield page_item(response, url, depth, links=[], body_hash=body_sha(response.body))
            return
        if looks_binary(response.body):
            yield FailureItem(url, response.status, "binary body labelled as text")
            return
        links = self._page_links(response) if isinstance(response, HtmlResponse) else []
        for request in self._follow(links if follows else [], depth):
            yield request
        body_hash = body_sha(response.body)
        known = state.known.get(url)
        if known is not None and known.run_id != state.run_id and known.body_hash == body_hash:
            yield UnchangedItem(url)
            return
        page = page_item(response, url, depth, links=links, body_hash=body_hash)
        if (
            self._match is not None
            and self._match.search(url)
            and isinstance(response, HtmlResponse)
        ):
            content = await self._extractor.extract(response.body, response.encoding, url)
            page.is_item = True
            page.fields = content.fields
            page.content_hash = content.content_hash
            page.minhash = content.minhash
            page.raw_html = content.raw_html
        yield page

    def on_error(self, failure: Failure) -> Iterator[FailureItem]:
        """Record a request that failed for good (after retries), whatever the reason."""
        request = getattr(failure, "request", None)
        status, error = describe_failure(failure)
        if request is None:
            return
        # Record the URL that was linked; a redirect chain's last URL goes into the error.
        chain = request.meta.get("redirect_urls", [])
        if chain and request.url not in error:
            error = f"{error} (redirected to {request.url})"
        yield FailureItem(canonical_url(chain[0] if chain else request.url), status, error)
