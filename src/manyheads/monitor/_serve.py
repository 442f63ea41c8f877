"""``manyheads monitor serve``: the dashboard over HTTP, rendered from the database per request."""

from __future__ import annotations

import http.server
from collections.abc import Callable

from manyheads.monitor._dashboard import render_dashboard
from manyheads.monitor._db import MonitorDB
from manyheads.monitor._specs import MonitorConfig

__all__ = ["make_server"]


def make_server(
    config: MonitorConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8050,
    log: Callable[[str], None] | None = None,
) -> http.server.ThreadingHTTPServer:
    """A server whose ``/`` is the dashboard of ``config``'s database (``/healthz``: ``ok``)."""
    db = MonitorDB(config.store)

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            if log is not None:
                log("monitor serve: " + format % args)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path in ("/", "/index.html"):
                status, kind, body = 200, "text/html", render_dashboard(db, config).encode()
            elif path == "/healthz":
                status, kind, body = 200, "text/plain", b"ok"
            else:
                status, kind, body = 404, "text/plain", b"not found"
            self.send_response(status)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
