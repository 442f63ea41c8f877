"""A crawl that reads a feed and a sitemap index: only new or changed pages are requested."""

from __future__ import annotations

import hashlib
import re
import sys
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawl_helpers.fixtures import run_cli
from crawl_helpers.servers import Page, serve_pages
from manyheads.crawl._store import Store

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


class NewsSite:
    """Articles with an update time; an Atom feed of the newest 4, a sitemap index + sitemap."""

    def __init__(self, n: int) -> None:
        self.lock = threading.Lock()
        self.articles = {i: (T0 + timedelta(minutes=i), f"version 1 of {i}") for i in range(n)}
        self.base = ""

    def add(self, i: int) -> None:
        with self.lock:
            self.articles[i] = (T0 + timedelta(minutes=i), f"version 1 of {i}")

    def update(self, i: int, when: datetime) -> None:
        with self.lock:
            self.articles[i] = (when, f"version 2 of {i}")

    def feed(self) -> bytes:
        newest = sorted(self.articles.items(), key=lambda kv: kv[1][0])[-4:]
        entries = "".join(
            f"<entry><id>urn:a:{i}</id><title>A {i}</title><link href='/article/{i}'/>"
            f"<updated>{when.isoformat()}</updated></entry>"
            for i, (when, _) in reversed(newest)
        )
        return (
            "<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>t</title>"
            f"{entries}</feed>"
        ).encode()

    def sitemap(self) -> bytes:
        urls = "".join(
            f"<url><loc>{self.base}/article/{i}</loc><lastmod>{when.isoformat()}</lastmod></url>"
            for i, (when, _) in self.articles.items()
        )
        ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
        return f"<?xml version='1.0'?><urlset xmlns='{ns}'>{urls}</urlset>".encode()

    def index(self) -> bytes:
        ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
        return (
            f"<?xml version='1.0'?><sitemapindex xmlns='{ns}'><sitemap>"
            f"<loc>{self.base}/sitemap-articles.xml</loc></sitemap></sitemapindex>"
        ).encode()

    def __call__(self, path: str, headers: dict[str, str]) -> Page | None:
        with self.lock:
            listings = {
                "/feed.xml": self.feed,
                "/bad-feed.xml": lambda: b"<feed><entry></feed",
                "/sitemap.xml": self.index,
                "/sitemap-articles.xml": self.sitemap,
            }
            if path in listings:
                return _with_etag(listings[path](), headers)
            match = re.fullmatch(r"/article/(\d+)", path)
            if not match or int(match[1]) not in self.articles:
                return None
            when, text = self.articles[int(match[1])]
        etag = f'"{int(match[1])}-{when.timestamp():.0f}"'
        out = {
            "Content-Type": "text/html",
            "ETag": etag,
            "Last-Modified": format_datetime(when, usegmt=True),
        }
        if headers.get("If-None-Match") == etag:
            return 304, out, b""
        links = "<a href='/feed.xml'>feed</a><a href='/article/0'>first</a>"
        body = f"<html><body><h1>{text}</h1>{links}</body></html>"
        return 200, out, body.encode()


def _with_etag(body: bytes, headers: dict[str, str]) -> Page:
    etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
    out = {"Content-Type": "application/xml", "ETag": etag}
    return (304, out, b"") if headers.get("If-None-Match") == etag else (200, out, body)


def _config(tmp: Path, url: str, feeds: list[str]) -> None:
    (tmp / "crawl.yaml").write_text(
        f"follow: {{feeds: {feeds}, sitemaps: ['{url}/sitemap.xml'], allow: ['/article/']}}\n"
        "items: {match: '/article/\\d+$', fields: {title: {css: 'h1::text'}}}\n"
        "store: sqlite:///c.db\nsafety: {allow_private: true}\n"
        "politeness: {autothrottle: false}\nprogress_s: 0\n"
    )


def _articles(paths: list[str]) -> list[str]:
    return sorted(p for p in paths if p.startswith("/article/"))


def test_second_crawl_fetches_only_new_and_updated_entries(tmp_path: Path) -> None:
    site = NewsSite(6)
    with serve_pages(site) as server:
        site.base = server.url
        _config(tmp_path, server.url, [f"{server.url}/feed.xml"])
        first = run_cli("crawl", "crawl.yaml", cwd=tmp_path).stdout
        first_paths = _articles(server.log.paths())
        server.log.clear()
        site.add(6)
        site.add(7)
        site.update(2, T0 + timedelta(hours=1))
        second = run_cli("crawl", "crawl.yaml", cwd=tmp_path).stdout
        second_paths = _articles(server.log.paths())
        listings = sorted(p for p in server.log.paths() if not p.startswith("/article/"))
        server.log.clear()
        third = run_cli("crawl", "crawl.yaml", cwd=tmp_path).stdout
        third_log = [(p, "If-None-Match" in h) for _, _, p, h in server.log.entries]
    assert first_paths == [f"/article/{i}" for i in range(6)]  # once each, links not followed
    assert "6 records written" in first
    assert second_paths == ["/article/2", "/article/6", "/article/7"]
    # Each listing is read once per crawl; the unchanged articles cost no request at all.
    assert listings == ["/feed.xml", "/robots.txt", "/sitemap-articles.xml", "/sitemap.xml"]
    assert "3 records written" in second
    # Nothing changed: every listing answers 304 (the index's sitemap is still checked).
    assert "0 records written" in third
    assert sorted(third_log) == [
        ("/feed.xml", True),
        ("/robots.txt", False),
        ("/sitemap-articles.xml", True),
        ("/sitemap.xml", True),
    ]
    titles = {
        r["url"].rsplit("/", 1)[1]: r["title"]
        for r in Store(f"sqlite:///{tmp_path / 'c.db'}").read_records()
    }
    assert titles == {str(i): f"version {2 if i == 2 else 1} of {i}" for i in range(8)}


def test_malformed_feed_is_a_counted_failure_not_a_crash(tmp_path: Path) -> None:
    site = NewsSite(3)
    with serve_pages(site) as server:
        site.base = server.url
        _config(tmp_path, server.url, [f"{server.url}/bad-feed.xml"])
        out = run_cli("crawl", "crawl.yaml", cwd=tmp_path)
    assert "3 records written" in out.stdout
    failures = Store(f"sqlite:///{tmp_path / 'c.db'}").failures()
    assert [(f["url"].rsplit("/", 1)[1], f["error"][:15]) for f in failures] == [
        ("bad-feed.xml", "malformed feed:")
    ]
