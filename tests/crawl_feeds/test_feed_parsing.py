"""Reading Atom, RSS 2.0, sitemaps and sitemap indexes; the config keys that name them."""

from __future__ import annotations

import gzip

import pytest

from manyheads.crawl import parse_config
from manyheads.crawl._feeds import FeedError, needs_fetch, parse_feed, parse_sitemap, parse_time
from manyheads.errors import ConfigError

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>a</title><link>http://h/a</link>
<pubDate>Sun, 06 Dec 2026 10:00:00 +0100</pubDate></item>
<item><title>b</title><guid>http://h/b</guid></item>
<item><title>c</title><guid isPermaLink="false">urn:c</guid></item>
</channel></rss>"""

ATOM = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<entry><link rel="enclosure" href="/x.mp3"/><link href="/a"/>
<published>2026-12-06T08:00:00Z</published>
<updated>2026-12-06T09:30:00Z</updated></entry></feed>"""

INDEX = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>http://h/s1.xml.gz</loc><lastmod>2026-12-01</lastmod></sitemap></sitemapindex>"""


def test_rss_links_guids_and_rfc822_dates() -> None:
    entries = parse_feed(RSS, "http://h/rss")
    assert [e.url for e in entries] == ["http://h/a", "http://h/b"]
    assert entries[0].updated == parse_time("2026-12-06T09:00:00Z")
    assert entries[1].updated is None


def test_atom_alternate_link_resolved_and_updated_wins() -> None:
    [entry] = parse_feed(ATOM, "http://h/news/feed.xml")
    assert entry.url == "http://h/a"
    assert entry.updated == parse_time("2026-12-06T09:30:00Z")


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"<feed><entry></feed", "not well-formed XML"),
        (b"<html><body>moved</body></html>", "not an Atom <feed> or RSS 2.0"),
        (b"", "not well-formed XML"),
    ],
)
def test_malformed_feed_raises_feed_error(body: bytes, match: str) -> None:
    with pytest.raises(FeedError, match=match):
        parse_feed(body, "http://h/feed")


def test_sitemap_index_and_gzip_sitemap() -> None:
    kind, entries = parse_sitemap(INDEX, "http://h/sitemap.xml")
    assert kind == "sitemapindex"
    assert [(e.url, e.updated) for e in entries] == [
        ("http://h/s1.xml.gz", parse_time("2026-12-01"))
    ]
    with pytest.raises(FeedError, match="not <urlset> or <sitemapindex>"):
        parse_sitemap(b"<html/>", "http://h/")
    with pytest.raises(FeedError):
        parse_sitemap(gzip.compress(b"x"), "http://h/")


def test_needs_fetch_only_new_or_newer() -> None:
    from manyheads.crawl._feeds import Listed

    t = parse_time("2026-12-06T10:00:00Z")
    later = parse_time("2026-12-06T10:00:01Z")
    assert not needs_fetch(Listed("u", t), t, in_store=True)
    assert needs_fetch(Listed("u", later), t, in_store=True)
    assert needs_fetch(Listed("u", None), t, in_store=True)  # no listed time: ask (a 304)
    assert needs_fetch(Listed("u", t), later, in_store=False)


def test_config_feeds_and_sitemaps() -> None:
    config = parse_config({"follow": {"feeds": ["http://h/feed.xml"]}})
    assert config.start_urls == ()
    assert config.starts == ("http://h/feed.xml",)
    with pytest.raises(ConfigError) as info:
        parse_config({"follow": {"feed": ["http://h/f"], "sitemaps": ["ftp://h/s.xml"]}})
    text = str(info.value)
    assert "unknown key 'feed'" in text
    assert "Did you mean 'feeds'?" in text
    assert "'follow.sitemaps' option" in text
    assert "'ftp://h/s.xml' is not an http" in text
    with pytest.raises(ConfigError, match=r"give follow\.feeds or follow\.sitemaps instead"):
        parse_config({"follow": {"allow": ["/a"]}})


def test_a_refused_feed_or_sitemap_is_named_by_its_key() -> None:
    from manyheads.crawl._runner import _refused_error, start_url_refusals

    config = parse_config(
        {
            "allowed_domains": ["news.example", "10.0.0.1"],
            "follow": {
                "feeds": ["http://other.example/feed.xml"],
                "sitemaps": ["http://10.0.0.1/sitemap.xml"],
            },
        }
    )
    message = str(_refused_error(start_url_refusals(config), config, crawled=False))
    assert "'follow.feeds': http://other.example/feed.xml: refused: host 'other.example'" in message
    assert "'follow.sitemaps': http://10.0.0.1/sitemap.xml: refused" in message
    assert "'start_urls'" not in message
