"""Local HTTP servers for crawl tests (threads on 127.0.0.1, stopped by their context manager)."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["RequestLog", "Site", "serve_directory", "serve_pages"]


@dataclass
class RequestLog:
    """What a server received: ``(time, method, path, headers)`` per request, thread-safe."""

    entries: list[tuple[float, str, str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, method: str, path: str, headers: dict[str, str]) -> None:
        with self.lock:
            self.entries.append((time.monotonic(), method, path, headers))

    def paths(self) -> list[str]:
        with self.lock:
            return [e[2] for e in self.entries]

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


@dataclass
class Site:
    """A running server: its base URL and request log."""

    url: str
    port: int
    log: RequestLog


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up (size limits, timeouts) are part of the tests


@contextmanager
def _run(handler: type[http.server.BaseHTTPRequestHandler], log: RequestLog) -> Iterator[Site]:
    server = _Server(("127.0.0.1", 0), handler)
    server.log = log  # type: ignore[attr-defined]
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{port}", port, log)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _LoggingHandler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr
        pass

    def _record(self) -> None:
        self.server.log.add(self.command, self.path, dict(self.headers))  # type: ignore[attr-defined]

    def send_head(self) -> Any:
        self._record()
        return super().send_head()


@contextmanager
def serve_directory(root: str | Path) -> Iterator[Site]:
    """Serve a directory (``Last-Modified`` and ``If-Modified-Since`` included)."""
    log = RequestLog()

    class Handler(_LoggingHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

    with _run(Handler, log) as site:
        yield site


Page = tuple[int, dict[str, str], bytes]


@contextmanager
def serve_pages(
    pages: dict[str, bytes | str] | Callable[[str, dict[str, str]], Page | None],
    *,
    delay_s: float = 0.0,
    raw: Callable[[str, socket.socket], None] | None = None,
    raw_paths: tuple[str, ...] = (),
) -> Iterator[Site]:
    """Serve pages from a dict path -> HTML (with ETags and 304s) or from a handler function.

    A dict may be changed while the server runs (recrawl tests). A function gets
    ``(path, headers)`` and returns ``(status, headers, body)`` or ``None`` for 404.
    ``raw(path, socket)`` writes whatever it likes for ``raw_paths``; the connection then closes.
    """
    log = RequestLog()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            headers = dict(self.headers)
            log.add("GET", self.path, headers)
            if delay_s:
                time.sleep(delay_s)
            if raw is not None and self.path in raw_paths:
                self.close_connection = True
                raw(self.path, self.connection)
                return
            result = _lookup(pages, self.path, headers)
            if result is None:
                result = (404, {"Content-Type": "text/html"}, b"<h1>not found</h1>")
            status, out_headers, body = result
            self.send_response(status)
            for key, value in out_headers.items():
                self.send_header(key, value)
            if "Content-Length" not in out_headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body and status != 304:
                self.wfile.write(body)

    with _run(Handler, log) as site:
        yield site


def _lookup(
    pages: dict[str, bytes | str] | Callable[[str, dict[str, str]], Page | None],
    path: str,
    headers: dict[str, str],
) -> Page | None:
    if callable(pages):
        return pages(path, headers)
    body = pages.get(path)
    if body is None:
        return None
    data = body.encode("utf-8") if isinstance(body, str) else body
    etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
    if headers.get("If-None-Match") == etag:
        return 304, {"ETag": etag}, b""
    kind = "text/plain" if path.endswith(".txt") else "text/html"
    return 200, {"Content-Type": f"{kind}; charset=utf-8", "ETag": etag}, data
