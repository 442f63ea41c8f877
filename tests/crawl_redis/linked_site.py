"""A linked local site for the distributed-crawl tests: pages, robots.txt-forbidden pages, a log.

Page ``/p/<i>`` links to a few other pages (a fixed pseudo-random graph reachable from ``/``) and
to ``/private/<i>``, which robots.txt forbids. The server answers after ``delay_s`` and records,
per request, the path and the times it started and ended (for the politeness checks).
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Hits", "LinkedSite", "crawl_yaml", "linked_site"]

ROBOTS = "User-agent: *\nDisallow: /private/\n"


@dataclass
class Hits:
    """``(path, start, end)`` of every request, in arrival order (thread-safe)."""

    entries: list[tuple[str, float, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, path: str, start: float, end: float) -> None:
        with self.lock:
            self.entries.append((path, start, end))

    def paths(self) -> list[str]:
        with self.lock:
            return [p for p, _, _ in self.entries]


@dataclass
class LinkedSite:
    """A running site: base URL, number of pages, the request log."""

    url: str
    n_pages: int
    hits: Hits

    def page_paths(self) -> set[str]:
        return {"/"} | {f"/p/{i}" for i in range(self.n_pages)}


def _links(i: int, n: int) -> list[int]:
    return sorted({(i * 7 + 1) % n, (i * 13 + 5) % n, (i + 1) % n, (i * i + 3) % n})


def _body(path: str, n: int) -> bytes | None:
    if path == "/":
        links = "".join(f"<a href='/p/{i}'>{i}</a> " for i in range(0, n, max(1, n // 8)))
        return f"<html><body><h1>home</h1>{links}</body></html>".encode()
    if path.startswith("/p/") and path[3:].isdigit() and int(path[3:]) < n:
        i = int(path[3:])
        links = "".join(f"<a href='/p/{j}'>page {j}</a> " for j in _links(i, n))
        text = f"Page {i} is about topic {i % 5}. " * 8
        return (
            f"<html><body><h1>Page {i}</h1><p>{text}</p>{links}"
            f"<a href='/private/{i}'>secret</a></body></html>"
        ).encode()
    return None


@contextmanager
def linked_site(n_pages: int, *, delay_s: float = 0.0) -> Iterator[LinkedSite]:
    """Serve the site on 127.0.0.1 (a free port) until the block ends."""
    hits = Hits()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            start = time.monotonic()
            if delay_s:
                time.sleep(delay_s)
            if self.path == "/robots.txt":
                body, kind, status = ROBOTS.encode(), "text/plain", 200
            else:
                page = _body(self.path, n_pages)
                status = 200 if page is not None else 404
                body, kind = page or b"<h1>not found</h1>", "text/html; charset=utf-8"
            # the end is taken before the response goes out: once it is sent, the client may
            # free its host token and start the next request while this thread still runs
            # (a loaded machine deschedules it), which would count as a false overlap
            end = time.monotonic()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            hits.add(self.path, start, end)

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        block_on_close = False
        request_queue_size = 128

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield LinkedSite(f"http://127.0.0.1:{server.server_address[1]}", n_pages, hits)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def crawl_yaml(
    url: str,
    store: str,
    frontier: str | None,
    *,
    starts: list[str] | None = None,
    max_depth: int = 50,
    **politeness: Any,
) -> str:
    """A crawl config of the site (from ``/`` or ``starts``): every page a record with its title."""
    import yaml

    config: dict[str, Any] = {
        "start_urls": starts or [f"{url}/"],
        "allowed_domains": ["127.0.0.1"],
        "follow": {"max_depth": max_depth},
        "items": {"match": r"/p/\d+$", "fields": {"title": {"css": "h1::text"}}},
        "store": store,
        "politeness": {"autothrottle": False, **politeness},
        "retries": {"backoff_s": 0.1},
        "safety": {"allow_private": True},
        "progress_s": 0,
    }
    if frontier is not None:
        config["frontier"] = frontier
    return yaml.safe_dump(config, sort_keys=False)
