"""Feeds and sitemaps: the URLs a site lists, with the time it says each one last changed.

A monitoring crawl reads a site's Atom / RSS 2.0 feed and its sitemap (or sitemap index)
instead of walking every listing page: a listed URL is fetched only when the store does not
hold it or when the listed time is newer than the page's stored time (see
:func:`needs_fetch`). The config keys ``follow.feeds`` and ``follow.sitemaps`` are documented
in ``docs/crawl.md``.

Sitemaps are read with Scrapy's :class:`scrapy.utils.sitemap.Sitemap` (lxml, entities off);
feeds with lxml under the same safe parser options.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

import lxml.etree  # type: ignore[import-untyped]  # lxml ships no types
import sqlalchemy as sa

from manyheads.crawl._store import Store
from manyheads.crawl._tables import pages

__all__ = [
    "FeedError",
    "Listed",
    "needs_fetch",
    "parse_feed",
    "parse_sitemap",
    "parse_time",
    "stored_times",
]

_ATOM = "{http://www.w3.org/2005/Atom}"
_DC_DATE = "{http://purl.org/dc/elements/1.1/}date"


class FeedError(ValueError):
    """A feed or sitemap that cannot be read (malformed XML, or not a feed)."""


@dataclass(frozen=True)
class Listed:
    """A URL listed by a feed or sitemap, and when the listing says it last changed."""

    url: str
    updated: datetime | None


def parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 (Atom, sitemap) or RFC 822 (RSS) time, UTC when it names no zone.

    Example:
        >>> parse_time("2026-12-06T10:00:00Z"), parse_time("Sun, 06 Dec 2026 10:00:00 GMT")
        (datetime.datetime(2026, 12, 6, 10, 0, tzinfo=datetime.timezone.utc), \
datetime.datetime(2026, 12, 6, 10, 0, tzinfo=datetime.timezone.utc))
        >>> parse_time("yesterday") is None
        True
    """
    text = (text or "").strip()
    if not text:
        return None
    when: datetime | None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _safe_parser() -> lxml.etree.XMLParser:
    # No entities, no network, no recovery: a broken feed is an error, not a guess.
    return lxml.etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _atom_link(entry: lxml.etree._Element) -> str | None:
    for link in entry.iter(f"{_ATOM}link"):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return str(link.get("href"))
    return None


def _text(element: lxml.etree._Element, *tags: str) -> str | None:
    for tag in tags:
        found = element.find(tag)
        if found is not None and found.text and found.text.strip():
            return str(found.text).strip()
    return None


def _rss_link(item: lxml.etree._Element) -> str | None:
    link = _text(item, "link")
    guid = item.find("guid")
    if link is None and guid is not None and guid.get("isPermaLink", "true") != "false":
        link = _text(item, "guid")
    return link


def parse_feed(body: bytes, base_url: str) -> list[Listed]:
    """The entries of an Atom or RSS 2.0 feed: link (absolute) and updated / pubDate.

    Raises:
        FeedError: the body is not well-formed XML, or not an Atom or RSS 2.0 feed.

    Example:
        >>> atom = (b"<feed xmlns='http://www.w3.org/2005/Atom'><entry><link href='/a/1'/>"
        ...         b"<updated>2026-12-06T10:00:00Z</updated></entry></feed>")
        >>> parse_feed(atom, "http://h/feed.xml")[0].url
        'http://h/a/1'
    """
    try:
        root = lxml.etree.fromstring(body, parser=_safe_parser())
    except lxml.etree.XMLSyntaxError as exc:
        raise FeedError(f"not well-formed XML ({exc})") from None
    if root.tag == f"{_ATOM}feed":
        entries = root.iter(f"{_ATOM}entry")
        found = [(_atom_link(e), _text(e, f"{_ATOM}updated", f"{_ATOM}published")) for e in entries]
    elif root.tag == "rss" and root.find("channel") is not None:
        items = root.iter("item")
        found = [(_rss_link(i), _text(i, "pubDate", _DC_DATE, f"{_ATOM}updated")) for i in items]
    else:
        raise FeedError(f"the root element is <{root.tag}>, not an Atom <feed> or RSS 2.0 <rss>")
    return [Listed(urljoin(base_url, link), parse_time(t)) for link, t in found if link]


def parse_sitemap(body: bytes, base_url: str) -> tuple[str, list[Listed]]:
    """``(kind, entries)`` of a sitemap: kind ``urlset`` (pages) or ``sitemapindex`` (sitemaps).

    Raises:
        FeedError: the body is not a sitemap.

    Example:
        >>> xml = (b"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'><url>"
        ...        b"<loc>http://h/a/1</loc><lastmod>2026-12-06</lastmod></url></urlset>")
        >>> kind, entries = parse_sitemap(xml, "http://h/sitemap.xml")
        >>> kind, entries[0].url, entries[0].updated.isoformat()
        ('urlset', 'http://h/a/1', '2026-12-06T00:00:00+00:00')
    """
    from scrapy.utils.sitemap import Sitemap

    try:
        sitemap = Sitemap(body)
        entries = [(d["loc"], d.get("lastmod")) for d in sitemap]
    except (lxml.etree.XMLSyntaxError, StopIteration) as exc:
        raise FeedError(f"not well-formed XML ({exc or 'empty'})") from None
    if sitemap.type not in ("urlset", "sitemapindex"):
        raise FeedError(f"the root element is <{sitemap.type}>, not <urlset> or <sitemapindex>")
    return sitemap.type, [
        Listed(urljoin(base_url, loc), parse_time(t)) for loc, t in entries if loc
    ]


def stored_times(store: Store, urls: Iterable[str] | None = None) -> dict[str, datetime]:
    """Canonical URL -> when the stored page last changed: its ``Last-Modified`` if it had one
    (the server's clock, like the listing's), else when its body was last fetched."""
    query = sa.select(pages.c.url, pages.c.last_modified, pages.c.fetched_at)
    if urls is not None:
        query = query.where(pages.c.url.in_(list(urls)))
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    out: dict[str, datetime] = {}
    for row in rows:
        when = parse_time(row.last_modified) or row.fetched_at
        if isinstance(when, datetime):
            out[row.url] = when if when.tzinfo else when.replace(tzinfo=UTC)
    return out


def needs_fetch(listed: Listed, stored: datetime | None, *, in_store: bool) -> bool:
    """Whether a listed URL is requested: not stored, or listed as changed since it was stored.

    Without a listed or a stored time it is requested (conditionally when stored: a 304 costs
    little), so nothing that may have changed is missed.

    Example:
        >>> t = parse_time("2026-12-06T10:00:00Z")
        >>> needs_fetch(Listed("http://h/a", t), t, in_store=True)
        False
        >>> needs_fetch(Listed("http://h/a", t), None, in_store=False)
        True
    """
    if not in_store or listed.updated is None or stored is None:
        return True
    return listed.updated > stored
