"""Safety (private addresses refused after DNS, unless allowed) and proxy rotation."""

from __future__ import annotations

import http.client
import json
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
        proc = run_cli("crawl", "crawl.yaml", cwd=tmp_path, check=False)
        requested = server.log.paths()
    assert requested == [], "a private address was contacted"
    # Every start URL is refused before a request: exit 2, the reason per URL, no store.
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"{server.url}/: refused: '127.0.0.1' resolves to the private or loopback" in proc.stderr
    # A name is refused after resolution: localhost resolves to a loopback address.
    local = f"http://localhost:{server.port}/p/1: refused: 'localhost' resolves to the private"
    assert local in proc.stderr
    assert "Every start URL was refused" in proc.stderr
    assert not (tmp_path / "c.db").exists()


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
            f"politeness: {{proxies: ['{_secret(proxy1.url)}', '{_secret(proxy2.url)}'], "
            "autothrottle: true}\nlog_level: DEBUG\n"
        )
        proc = run_cli("crawl", "crawl.yaml", cwd=tmp_path)
        origin_paths = origin.log.paths()
    assert log1, "both proxies must carry requests"
    assert log2, "both proxies must carry requests"
    assert all(p.startswith(origin.url) for p in log1 + log2)
    assert len(log1 + log2) == len(origin_paths)
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    assert len(store.page_rows()) == 7
    # The proxies' password is in no log line (DEBUG logs settings and requests), nor stored.
    assert "Overridden settings" in proc.stderr
    assert "pxsecret" not in proc.stdout + proc.stderr
    (run,) = store.runs()
    assert "pxsecret" not in json.dumps(run, default=str)
    assert f"{_secret(proxy1.url).replace('pxsecret', '***')}" in run["config"]


def _secret(url: str) -> str:
    return url.replace("http://", "http://px:pxsecret@")


RESOLVER_ONLY = """
import sys
import manyheads.crawl._runner as runner
import manyheads.crawl._settings as settings
from manyheads.crawl import parse_config, run_crawl
from manyheads.errors import ConfigError

build = settings.build_settings


def without_middleware(config, progress=True):  # leave the resolver as the only guard
    s = build(config, progress=progress)
    s["DOWNLOADER_MIDDLEWARES"]["manyheads.crawl._safety.SafetyMiddleware"] = None
    return s


settings.build_settings = without_middleware
runner.start_url_refusals = lambda config: {}  # and no check before the crawl either
port = sys.argv[1]
cfg = parse_config({
    "start_urls": [f"http://localhost:{port}/", f"http://127.0.0.1:{port}/p/1"],
    "store": "sqlite:///c.db", "progress_s": 0, "retries": {"times": 0},
})
try:
    print(run_crawl(cfg, progress=False))
except ConfigError as exc:  # every start URL refused: reported after the crawl
    print(exc)
"""


def test_resolver_refuses_private_addresses_at_connection_time(tmp_path: Path) -> None:
    script = tmp_path / "resolver_only.py"
    script.write_text(RESOLVER_ONLY)
    with serve_pages(PAGES) as server:
        proc = subprocess.run(
            [sys.executable, str(script), str(server.port)],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            timeout=120,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
            text=True,
        )
        requested = server.log.paths()
    assert requested == []
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    failures = store.failures()
    assert len(failures) == 2
    assert all("DNS lookup failed" in f["error"] for f in failures)
    assert "Every start URL was refused, so nothing was crawled" in proc.stdout
    assert [r["status"] for r in store.runs()] == ["failed"]
