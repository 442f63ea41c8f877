"""Safety (private addresses refused after DNS, unless allowed) and proxy rotation."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawl_helpers.fixtures import run_cli
from crawl_helpers.servers import serve_pages
from manyheads.crawl._store import Store

pytestmark = pytest.mark.slow

PAGES = {"/": "<a href='/p/1'>1</a>" + "".join(f"<a href='/p/{i}'>{i}</a>" for i in range(2, 7))}
PAGES.update({f"/p/{i}": f"<html><body><h1>Page {i}</h1></body></html>" for i in range(1, 7)})


def test_private_addresses_refused(tmp_path: Path) -> None:
    with serve_pages(PAGES) as server:
        (tmp_path / "crawl.yaml").write_text(
            f"start_urls: ['{server.url}/', 'http://localhost:{server.port}/p/1']\n"
            "allowed_domains: [127.0.0.1, localhost]\n"
            "store: sqlite:///c.db\nprogress_s: 0\n"
        )
        proc = run_cli("crawl", "crawl.yaml", cwd=tmp_path)
        requested = server.log.paths()
    assert requested == [], "a private address was contacted"
    failures = {f["url"]: f["error"] for f in Store(f"sqlite:///{tmp_path / 'c.db'}").failures()}
    assert "private or loopback address 127.0.0.1" in failures[f"{server.url}/"]
    # A name is refused after resolution: localhost resolves to a loopback address.
    local = failures[f"http://localhost:{server.port}/p/1"]
    assert "'localhost' resolves to the private or loopback address" in local
    assert "0 pages" in proc.stdout


def _forwarding_proxy(log: list[str]) -> Any:
    """A real forwarding HTTP proxy, restricted to 127.0.0.1 origins."""

    def handle(path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        log.append(path)
        target = urlsplit(path)
        if target.hostname != "127.0.0.1":
            return 403, {}, b"only 127.0.0.1"
        conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=5)
        conn.request("GET", target.path or "/")
        response = conn.getresponse()
        body = response.read()
        conn.close()
        kind = response.getheader("Content-Type", "text/html")
        return response.status, {"Content-Type": kind}, body

    return handle


def test_proxies_rotate(tmp_path: Path) -> None:
    log1: list[str] = []
    log2: list[str] = []
    with (
        serve_pages(PAGES) as origin,
        serve_pages(_forwarding_proxy(log1)) as proxy1,
        serve_pages(_forwarding_proxy(log2)) as proxy2,
    ):
        (tmp_path / "crawl.yaml").write_text(
            f"start_urls: ['{origin.url}/']\nallowed_domains: [127.0.0.1]\n"
            "store: sqlite:///c.db\nprogress_s: 0\nsafety: {allow_private: true}\n"
            f"politeness: {{proxies: ['{proxy1.url}', '{proxy2.url}'], autothrottle: true}}\n"
        )
        run_cli("crawl", "crawl.yaml", cwd=tmp_path)
        origin_paths = origin.log.paths()
    assert log1, "both proxies must carry requests"
    assert log2, "both proxies must carry requests"
    assert all(p.startswith(origin.url) for p in log1 + log2)
    assert len(log1 + log2) == len(origin_paths)
    rows = Store(f"sqlite:///{tmp_path / 'c.db'}").page_rows()
    assert len(rows) == 7


RESOLVER_ONLY = """
import sys
import manyheads.crawl._settings as settings
from manyheads.crawl import parse_config, run_crawl

build = settings.build_settings


def without_middleware(config, progress=True):  # leave the resolver as the only guard
    s = build(config, progress=progress)
    s["DOWNLOADER_MIDDLEWARES"]["manyheads.crawl._safety.SafetyMiddleware"] = None
    return s


settings.build_settings = without_middleware
port = sys.argv[1]
cfg = parse_config({
    "start_urls": [f"http://localhost:{port}/", f"http://127.0.0.1:{port}/p/1"],
    "store": "sqlite:///c.db", "progress_s": 0, "retries": {"times": 0},
})
print(run_crawl(cfg, progress=False))
"""


def test_resolver_refuses_private_addresses_at_connection_time(tmp_path: Path) -> None:
    script = tmp_path / "resolver_only.py"
    script.write_text(RESOLVER_ONLY)
    with serve_pages(PAGES) as server:
        subprocess.run(
            [sys.executable, str(script), str(server.port)],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            timeout=120,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        requested = server.log.paths()
    assert requested == []
    failures = Store(f"sqlite:///{tmp_path / 'c.db'}").failures()
    assert len(failures) == 2
    assert all("DNS lookup failed" in f["error"] for f in failures)
