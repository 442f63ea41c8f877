"""The replay news site: what a monitoring crawler reads, as a simulated clock advances.

Routes (all on 127.0.0.1):

- ``/article/<id>``: the article page: ``<h1>`` headline, ``<time datetime=...>``, the body in
  ``<div class="body">`` and a permalink (``rel="bookmark"``); 404 until it is published.
- ``/latest``: the newest page of the listing; ``/latest/page/<k>`` the k-th page counted from
  the oldest (``page_size`` articles each). A full page never changes again, so a recrawl gets
  a 304 for it; the newest page links to the previous one.
- ``/feed.xml`` (Atom, the newest 50), ``/sitemap.xml`` (every published article),
  ``/robots.txt``.
- ``/_clock``: GET the simulated time; POST ``{"advance": seconds}`` or ``{"set": iso}``.

Every page has an ``ETag`` and answers ``If-None-Match`` with 304; articles also have a
``Last-Modified`` (their publication time).
"""

from __future__ import annotations

import bisect
import hashlib
import html
import http.server
import json
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any

from manyheads.monitor._replay import Article, Scenario

__all__ = ["ReplaySite", "SimClock", "serve_replay"]


class SimClock:
    """A settable clock (thread-safe)."""

    def __init__(self, now: datetime) -> None:
        self._now = now
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The simulated time."""
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        """Jump to ``when``."""
        with self._lock:
            self._now = when

    def advance(self, seconds: float) -> datetime:
        """Move forward and return the new time."""
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now


Page = tuple[int, dict[str, str], bytes]


class ReplaySite:
    """The site's pages for a scenario at the clock's time (served by :func:`serve_replay`)."""

    def __init__(self, scenario: Scenario, clock: SimClock, *, page_size: int = 50) -> None:
        self.scenario = scenario
        self.clock = clock
        self.page_size = page_size
        self._times = [a.published for a in scenario.articles]

    def visible(self) -> list[Article]:
        """Articles published by now, oldest first."""
        return list(self.scenario.articles[: bisect.bisect_right(self._times, self.clock.now())])

    def get(self, path: str, headers: dict[str, str]) -> Page:
        """``(status, headers, body)`` for a GET of ``path``."""
        path = path.split("?", 1)[0].rstrip("/") or "/"
        page = self._route(path)
        if page is None:
            return 404, {"Content-Type": "text/html; charset=utf-8"}, b"<h1>not found</h1>"
        kind, body, modified = page
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        out = {"Content-Type": f"{kind}; charset=utf-8", "ETag": etag}
        if modified is not None:
            out["Last-Modified"] = format_datetime(modified, usegmt=True)
        if headers.get("If-None-Match") == etag:
            return 304, out, b""
        return 200, out, body

    def _route(self, path: str) -> tuple[str, bytes, datetime | None] | None:
        arts = self.visible()
        n_pages = max(1, math.ceil(len(arts) / self.page_size))
        if path in ("/", "/latest"):
            return "text/html", self._listing(arts, n_pages, latest=True), None
        if path.startswith("/latest/page/") and path.rsplit("/", 1)[1].isdigit():
            k = int(path.rsplit("/", 1)[1])
            return ("text/html", self._listing(arts, k), None) if 1 <= k <= n_pages else None
        if path.startswith("/article/") and path.rsplit("/", 1)[1].isdigit():
            i = int(path.rsplit("/", 1)[1])
            if 1 <= i <= len(arts):
                return "text/html", self._article(arts[i - 1]), arts[i - 1].published
            return None
        if path == "/feed.xml":
            return "application/atom+xml", self._feed(arts), None
        if path == "/sitemap.xml":
            return "application/xml", self._sitemap(arts), None
        if path == "/robots.txt":
            return "text/plain", b"User-agent: *\nAllow: /\nSitemap: /sitemap.xml\n", None
        return None

    def _listing(self, arts: list[Article], k: int, *, latest: bool = False) -> bytes:
        items = arts[(k - 1) * self.page_size : k * self.page_size]
        lis = "".join(
            f"<li><a href='/article/{a.id}'>{html.escape(a.headline)}</a> "
            f"<time datetime='{a.published.isoformat()}'>{a.published:%H:%M}</time></li>"
            for a in reversed(items)
        )
        older = f"<a rel='next' href='/latest/page/{k - 1}'>older</a>" if k > 1 else ""
        title = "Latest news" if latest else f"News, page {k}"
        return _page(title, f"<ul class='latest'>{lis}</ul><nav>{older}</nav>")

    @staticmethod
    def _article(a: Article) -> bytes:
        when = a.published.isoformat()
        main = (
            f"<article><h1>{html.escape(a.headline)}</h1><time datetime='{when}'>{when}</time>"
            f"<div class='body'>{html.escape(a.body)}</div>"
            f"<a rel='bookmark' href='/article/{a.id}'>permalink</a></article>"
        )
        return _page(a.headline, main)

    def _feed(self, arts: list[Article]) -> bytes:
        updated = (arts[-1].published if arts else self.scenario.start).isoformat()
        entries = "".join(
            f"<entry><id>urn:manyheads-replay:{a.id}</id><title>{html.escape(a.headline)}</title>"
            f"<link href='/article/{a.id}'/><updated>{a.published.isoformat()}</updated>"
            f"<summary>{html.escape(a.body)}</summary></entry>"
            for a in reversed(arts[-50:])
        )
        return (
            "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
            f"<title>Replay news</title><id>urn:manyheads-replay</id><updated>{updated}</updated>"
            f"{entries}</feed>"
        ).encode()

    @staticmethod
    def _sitemap(arts: list[Article]) -> bytes:
        urls = "".join(
            f"<url><loc>/article/{a.id}</loc><lastmod>{a.published.isoformat()}</lastmod></url>"
            for a in arts
        )
        return (
            "<?xml version='1.0' encoding='utf-8'?>"
            f"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>{urls}</urlset>"
        ).encode()

    def control(self, body: bytes) -> Page:
        """``POST /_clock``: move the clock; answer the new state."""
        try:
            order: dict[str, Any] = json.loads(body or b"{}")
            if "set" in order:
                self.clock.set(datetime.fromisoformat(str(order["set"])))
            elif "advance" in order:
                self.clock.advance(float(order["advance"]))
        except (ValueError, TypeError) as exc:
            msg = f'{{"error": "expected {{\\"advance\\": seconds}} or {{\\"set\\": iso}}: {exc}"}}'
            return 400, {"Content-Type": "application/json"}, msg.encode()
        return self.clock_state()

    def clock_state(self) -> Page:
        """``GET /_clock``: the time, and how many articles are published."""
        state = {
            "now": self.clock.now().isoformat(),
            "published": len(self.visible()),
            "total": len(self.scenario.articles),
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(state).encode()


def _page(title: str, main: str) -> bytes:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><link rel='alternate' type='application/atom+xml' "
        f"href='/feed.xml'></head><body><header><a href='/latest'>Replay news</a></header>"
        f"<main>{main}</main></body></html>"
    ).encode()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128


@contextmanager
def serve_replay(site: ReplaySite, *, port: int = 0, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``site`` in a thread; yield its base URL (``http://127.0.0.1:PORT``)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, page: Page) -> None:
            status, headers, body = page
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", "0" if status == 304 else str(len(body)))
            self.end_headers()
            if status != 304:
                self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.startswith("/_clock"):
                self._send(site.clock_state())
            else:
                self._send(site.get(self.path, dict(self.headers)))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path.startswith("/_clock"):
                self._send(site.control(body))
            else:
                self._send((405, {"Content-Type": "text/plain"}, b"GET only"))

    server = _Server((host, port), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
