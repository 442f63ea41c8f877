"""A fault-injecting site: errors, Retry-After, timeouts, slow drips, resets, redirect loops,
oversized and binary bodies, GBK and invalid UTF-8, malformed HTML and robots.txt disallows.

``EXPECTED_FAILURES`` lists every path whose crawl must end in a recorded failure;
``EXPECTED_PAGES`` the paths that must be stored; ``DISALLOWED`` must never be requested.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from typing import Any

__all__ = ["DISALLOWED", "EXPECTED_FAILURES", "EXPECTED_PAGES", "FaultSite"]

DISALLOWED = ("/private/a", "/private/b")
EXPECTED_PAGES = (
    "/",
    "/ok/1",
    "/ok/2",
    "/ok/3",
    "/flaky",
    "/gbk",
    "/gbk-meta",
    "/bad-utf8",
    "/malformed",
)
EXPECTED_FAILURES = {
    "/e500": "HTTP 500",
    "/e503": "HTTP 503",
    "/e404": "HTTP 404",
    "/timeout": "Timeout",
    "/drip": "Timeout",
    "/reset": "",
    "/loop/a": "redirect",
    "/chain/0": "redirect",
    "/big": "size",
    "/big-chunked": "size",
    "/binary": "binary",
    "/offsite-redirect": "allowed_domains",
    "/file-redirect": "redirect to file:///etc/passwd (scheme 'file' not allowed",
    "/ftp-redirect": "redirect to ftp://127.0.0.1/pub (scheme 'ftp' not allowed",
    "/meta-offsite": "meta refresh to http://localhost:",
}
MAX_BYTES = 100_000
TIMEOUT_S = 1.5


def _html(title: str, body: str = "", charset: str = "utf-8") -> bytes:
    return (
        f"<!DOCTYPE html><html><head><meta charset='{charset}'><title>{title}</title></head>"
        f"<body><main><h1>{title}</h1>{body}</main></body></html>"
    ).encode(charset)


class FaultSite:
    """Handler state for :func:`crawl_helpers.servers.serve_pages` (pass ``site.handle``)."""

    def __init__(self) -> None:
        self.port = 0
        self._flaky = 0
        self._lock = threading.Lock()

    def index(self) -> bytes:
        paths = [*EXPECTED_PAGES[1:], *EXPECTED_FAILURES, *DISALLOWED, "/redirect-ok"]
        links = "".join(f"<a href='{p}'>{p}</a> " for p in paths)
        odd = (
            "<a href='mailto:x@example.org'>mail</a> <a href='javascript:void(0)'>js</a> "
            "<a href='ftp://127.0.0.1/file'>ftp</a> <a href='http://example.invalid/'>ext</a> "
            f"<a href='http://localhost:{self.port}/ok/1'>other host</a>"
        )
        return _html("Fault index", links + odd)

    def handle(self, path: str, headers: dict[str, str]) -> Any:
        html = {"Content-Type": "text/html; charset=utf-8"}
        if path == "/":
            return 200, html, self.index()
        if path.startswith("/ok/"):
            return 200, html, _html(f"OK {path[4:]}", "<p>A good page with enough words.</p>")
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow: /private/\n"
        if path in ("/e500", "/e404"):
            return int(path[2:]), html, _html("error")
        if path == "/e503":
            return 503, {**html, "Retry-After": "1"}, _html("busy")
        if path == "/flaky":
            with self._lock:
                self._flaky += 1
                first = self._flaky == 1
            if first:
                return 503, {**html, "Retry-After": "1"}, _html("busy")
            return 200, html, _html("Flaky recovered")
        if path == "/timeout":
            time.sleep(TIMEOUT_S + 1.5)
            return 200, html, _html("too late")
        if path.startswith("/loop/"):
            other = "/loop/b" if path == "/loop/a" else "/loop/a"
            return 302, {"Location": other}, b""
        if path.startswith("/chain/"):
            return 302, {"Location": f"/chain/{int(path[7:]) + 1}"}, b""
        if path == "/redirect-ok":
            return 301, {"Location": "/ok/3"}, b""
        if path == "/offsite-redirect":
            return 302, {"Location": f"http://localhost:{self.port}/ok/2"}, b""
        if path == "/file-redirect":
            return 302, {"Location": "file:///etc/passwd"}, b""
        if path == "/ftp-redirect":
            return 301, {"Location": "ftp://127.0.0.1/pub"}, b""
        if path == "/meta-offsite":
            refresh = (
                f"<meta http-equiv='refresh' content='0; url=http://localhost:{self.port}/ok/1'>"
            )
            return 200, html, _html("Moved", refresh)
        if path == "/big":
            return 200, html, _html("big", "x" * (MAX_BYTES * 3))
        if path == "/binary":
            return 200, html, os.urandom(20_000)
        if path == "/gbk":
            return (
                200,
                {"Content-Type": "text/html; charset=gbk"},
                _html("中文标题", "<p>你好，世界</p>", "gbk"),
            )
        if path == "/gbk-meta":
            return 200, {"Content-Type": "text/html"}, _html("元标签编码", "<p>简体中文</p>", "gbk")
        if path == "/bad-utf8":
            return (
                200,
                html,
                _html("Bad bytes").replace(b"Bad bytes</h1>", b"Bad \xff\xfe bytes</h1>"),
            )
        if path == "/malformed":
            body = b"<html><body><main><h1>Malformed<p>unclosed <b>bold <i>mix</b></i><table><td>x"
            return 200, html, body
        return None

    # Raw-socket faults the handler cannot express as (status, headers, body):
    RAW = ("/drip", "/reset", "/big-chunked")

    def raw(self, path: str, conn: socket.socket) -> None:
        """Write a raw response for paths in :attr:`RAW`."""
        if path == "/drip":
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n"
            )
            deadline = time.monotonic() + TIMEOUT_S * 3
            while time.monotonic() < deadline:
                conn.sendall(b"<")
                time.sleep(0.25)
        elif path == "/reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif path == "/big-chunked":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n")
            for _ in range(MAX_BYTES * 3 // 10_000):
                conn.sendall(b"y" * 10_000)
