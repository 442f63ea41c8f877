"""The config-driven spider: follow links by the config's rules, turn matching pages into items.

Feeds and sitemaps (``follow.feeds`` / ``follow.sitemaps``) add the pages they list that are new
or changed since stored (:mod:`manyheads.crawl._feeds`); their links are not followed.

Every callback result goes through Scrapy's machinery (depth, dupefilter, offsite, robots,
retries, redirects); the spider only decides what to request and what to yield.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import scrapy
from scrapy import signals
from scrapy.http import Headers, HtmlResponse, Request, Response, TextResponse
from scrapy.linkextractors import IGNORED_EXTENSIONS, LinkExtractor
from twisted.python.failure import Failure

from manyheads.crawl._extraction import Extractor, default_workers
from manyheads.crawl._feeds import (
    FeedError,
    Listed,
    needs_fetch,
    parse_feed,
    parse_sitemap,
    stored_times,
)
from manyheads.crawl._items import FailureItem, PageItem, UnchangedItem
from manyheads.crawl._state import CrawlState
from manyheads.crawl._urls import SCHEMES, canonical_url, has_extension, host_allowed, split_host

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["ConfigSpider", "describe_failure", "looks_binary"]

_IGNORED = frozenset(f".{ext}" for ext in IGNORED_EXTENSIONS)  # Scrapy's list: images, archives ...
#: Request meta key: the page was listed by a feed or sitemap (its links are not followed).
LISTED = "manyheads_listed"


def looks_binary(body: bytes) -> bool:
    """Whether a body labelled as text is really binary (NUL bytes or mostly control bytes).

    Example:
        >>> looks_binary(b"<html>ok</html>"), looks_binary(bytes(range(256)))
        (False, True)
    """
    head = body[:4096]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return len(head) > 0 and controls / len(head) > 0.1


def describe_failure(failure: Failure) -> tuple[int | None, str]:
    """``(HTTP status or None, error text)`` of a failed request."""
    from scrapy.exceptions import DownloadCancelledError
    from scrapy.spidermiddlewares.httperror import HttpError

    value = failure.value
    if isinstance(value, HttpError):
        status = value.response.status
        return status, f"HTTP {status}"
    text = str(value).strip()
    if not text and isinstance(value, DownloadCancelledError):
        # Scrapy cancels a streamed body without a message only when it passes DOWNLOAD_MAXSIZE.
        text = "cancelled mid-body: response size over limits.max_page_bytes"
    text = text or type(value).__name__
    return None, f"{type(value).__name__}: {text}"


class ConfigSpider(scrapy.Spider):
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
            yield self._page(response, url, depth, links=[], body_hash=_sha(response.body))
            return
        if looks_binary(response.body):
            yield FailureItem(url, response.status, "binary body labelled as text")
            return
        links = self._page_links(response) if isinstance(response, HtmlResponse) else []
        for request in self._follow(links if follows else [], depth):
            yield request
        body_hash = _sha(response.body)
        known = state.known.get(url)
        if known is not None and known.run_id != state.run_id and known.body_hash == body_hash:
            yield UnchangedItem(url)
            return
        page = self._page(response, url, depth, links=links, body_hash=body_hash)
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

    # ---- feeds and sitemaps (docs/crawl.md "Feeds and sitemaps") ---------------------------

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
        yield self._page(response, url, depth, links=children, body_hash=_sha(response.body))
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

    def _page(
        self, response: Response, url: str, depth: int, *, links: list[str], body_hash: str
    ) -> PageItem:
        headers = response.headers
        return PageItem(
            url=url,
            status=response.status,
            depth=depth,
            content_type=_header(headers, b"Content-Type"),
            etag=_header(headers, b"ETag"),
            last_modified=_header(headers, b"Last-Modified"),
            body_hash=body_hash,
            content_hash=body_hash,
            is_item=False,
            fields=None,
            links=links,
        )

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


def _gunzipped(body: bytes, max_size: int) -> bytes:
    """A ``.xml.gz`` sitemap's XML (a server that sets Content-Encoding is unzipped by Scrapy)."""
    from scrapy.utils.gz import gunzip

    if not body.startswith(b"\x1f\x8b\x08"):  # gzip's magic number
        return body
    try:
        return gunzip(body, max_size=max_size)
    except (OSError, ValueError) as exc:  # ValueError: over limits.max_page_bytes
        raise FeedError(f"not a readable gzip file ({exc})") from None


def _sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _header(headers: Headers, name: bytes) -> str | None:
    value = headers.get(name)
    return value.decode("latin-1") if value else None
