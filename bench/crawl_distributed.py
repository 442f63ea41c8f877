"""Distributed crawl speed: 1 vs 2 manyheads workers on a shared Redis frontier, and plain Scrapy.

The site runs in its own process on 127.0.0.1: ``--pages`` linked pages (each links to 4 others
and to a robots.txt-forbidden page) that answer after ``--latency-ms``, so the wait for the
network, not the CPU, limits one crawler. Every crawler gets the same settings: 8 requests at
once per process, robots.txt obeyed, no AutoThrottle, no delay, each page a record (its title).
Pages per second are counted at the site: pages served / (last response - first request), so
process start-up is left out for every crawler alike. Runs alternate and the median of
``--repeats`` is reported.

Crawlers: plain Scrapy (one process, a minimal spider); ``manyheads crawl`` without a frontier
(the one-process crawler); ``--workers 1`` and ``--workers 2`` on a frontier (a redis-server on
127.0.0.1 started here) with the per-host limit over all workers at 16 (it does not bind); and
``--workers 2`` with that limit at 8, where the shared limit must hold two workers to one's rate.

Usage:
    python bench/crawl_distributed.py --pages 300 --latency-ms 200 --repeats 2
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONCURRENCY = 8

PLAIN = r"""
import sys
import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.linkextractors import LinkExtractor

class Plain(scrapy.Spider):
    name = "plain"
    allowed_domains = ["127.0.0.1"]
    start_urls = [sys.argv[1]]
    links = LinkExtractor()

    def parse(self, response):
        yield {"url": response.url, "title": response.css("h1::text").get()}
        for link in self.links.extract_links(response):
            yield response.follow(link.url, self.parse)

process = CrawlerProcess({"LOG_LEVEL": "ERROR", "ROBOTSTXT_OBEY": True,
                          "CONCURRENT_REQUESTS": N, "CONCURRENT_REQUESTS_PER_DOMAIN": N,
                          "TELNETCONSOLE_ENABLED": False})
process.crawl(Plain)
process.start()
""".replace(": N,", f": {CONCURRENCY},")


# ---- the site (its own process) -------------------------------------------------------------


def _page(path: str, n: int) -> bytes | None:
    if path == "/robots.txt":
        return b"User-agent: *\nDisallow: /private/\n"
    if path == "/":
        links = "".join(f"<a href='/p/{i}'>{i}</a> " for i in range(0, n, max(1, n // 8)))
        return f"<html><body><h1>home</h1>{links}</body></html>".encode()
    if path.startswith("/p/") and path[3:].isdigit() and int(path[3:]) < n:
        i = int(path[3:])
        out = sorted({(i * 7 + 1) % n, (i * 13 + 5) % n, (i + 1) % n, (i * i + 3) % n})
        links = "".join(f"<a href='/p/{j}'>page {j}</a> " for j in out)
        text = f"Page {i} is about topic {i % 5} and more. " * 20
        return (
            f"<html><body><h1>Page {i}</h1><p>{text}</p>{links}"
            f"<a href='/private/{i}'>secret</a></body></html>"
        ).encode()
    return None


def serve(port_file: str, n: int, latency_s: float) -> None:
    """Serve the site until killed; ``GET /__log`` returns and clears the request log."""
    log: list[tuple[str, float, float]] = []
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/__log":
                with lock:
                    body = json.dumps(log).encode()
                    log.clear()
                self._send(200, "application/json", body)
                return
            start = time.time()
            time.sleep(latency_s)
            body = _page(self.path, n)
            self._send(200 if body else 404, "text/html", body or b"not found")
            with lock:
                log.append((self.path, start, time.time()))

        def _send(self, status: int, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

    server = Server(("127.0.0.1", 0), Handler)
    Path(port_file).write_text(str(server.server_address[1]))
    server.serve_forever(poll_interval=0.05)


# ---- the runs ---------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    src = str(ROOT / "src")
    return {**os.environ, "PYTHONPATH": src, "PYTHONWARNINGS": "ignore"}


def _fetch_log(url: str) -> list[tuple[str, float, float]]:
    import urllib.request

    with urllib.request.urlopen(f"{url}/__log", timeout=30) as response:
        return [tuple(e) for e in json.loads(response.read())]


def _rate(log: list[tuple[str, float, float]]) -> dict[str, float]:
    pages = [e for e in log if e[0] == "/" or e[0].startswith("/p/")]
    span = max(e[2] for e in pages) - min(e[1] for e in pages)
    paths = [e[0] for e in pages]
    return {
        "pages": len(set(paths)),
        "fetched_twice": len(paths) - len(set(paths)),
        "robots_violations": sum(e[0].startswith("/private/") for e in log),
        "seconds": span,
        "pages_per_s": len(pages) / span,
    }


def _config(url: str, store: str, frontier: str | None, per_host: int) -> str:
    import yaml

    config: dict[str, Any] = {
        "start_urls": [f"{url}/"],
        "allowed_domains": ["127.0.0.1"],
        "follow": {"max_depth": 100},
        "items": {"match": r"/p/\d+$", "fields": {"title": {"css": "h1::text"}}},
        "store": store,
        "politeness": {
            "autothrottle": False,
            "concurrency": CONCURRENCY,
            "concurrency_per_domain": per_host,
        },
        "safety": {"allow_private": True},
        "progress_s": 0,
    }
    if frontier:
        config["frontier"] = frontier
    return yaml.safe_dump(config)


def run_one(kind: str, url: str, redis_url: str, work: Path) -> dict[str, float]:
    """One crawl of the whole site; its rate as the site saw it."""
    folder = Path(tempfile.mkdtemp(dir=work))
    if kind == "plain scrapy":
        # a file, not ``-c``: Scrapy reads the source of the callbacks
        (folder / "plain.py").write_text(PLAIN)
        cmd = [sys.executable, "plain.py", f"{url}/"]
    else:
        workers = 2 if kind.startswith("manyheads 2") else 1
        frontier = None if kind == "manyheads (no frontier)" else redis_url
        per_host = CONCURRENCY if kind.endswith("shared limit 8") else 2 * CONCURRENCY
        if frontier is None:
            per_host = CONCURRENCY
        config = _config(url, f"sqlite:///{folder}/crawl.db", frontier, per_host)
        (folder / "crawl.yaml").write_text(config)
        cmd = [sys.executable, "-m", "manyheads.cli.main", "crawl", "crawl.yaml", "--quiet"]
        cmd += ["--workers", str(workers)]
    proc = subprocess.run(cmd, cwd=folder, env=_env(), capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} exited {proc.returncode}: {proc.stderr[-2000:]}")
    shutil.rmtree(folder, ignore_errors=True)
    return _rate(_fetch_log(url))


KINDS = (
    "plain scrapy",
    "manyheads (no frontier)",
    "manyheads 1 worker",
    "manyheads 2 workers",
    "manyheads 2 workers, shared limit 8",
)


def _start_redis(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    args += ["--appendonly", "no", "--dir", str(work)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc, f"redis://127.0.0.1:{port}/0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--serve", nargs=3, metavar=("PORT_FILE", "PAGES", "LATENCY_S"))
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), float(args.serve[2]))
        return
    work = Path(tempfile.mkdtemp(prefix="crawl-distributed-"))
    port_file = work / "port"
    latency_s = str(args.latency_ms / 1000)
    site = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port_file), str(args.pages), latency_s]
    )
    redis, redis_url = _start_redis(work)
    try:
        while not port_file.exists():
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port_file.read_text()}"
        runs: dict[str, list[dict[str, float]]] = {k: [] for k in KINDS}
        for repeat in range(args.repeats):
            for kind in KINDS:
                result = run_one(kind, url, redis_url, work)
                runs[kind].append(result)
                print(f"[{repeat}] {kind}: {json.dumps(result)}", flush=True)
    finally:
        site.kill()
        redis.terminate()
        shutil.rmtree(work, ignore_errors=True)
    summary = {
        kind: {
            "pages_per_s": statistics.median(r["pages_per_s"] for r in rs),
            "pages": rs[0]["pages"],
            "fetched_twice": max(r["fetched_twice"] for r in rs),
            "robots_violations": max(r["robots_violations"] for r in rs),
        }
        for kind, rs in runs.items()
    }
    result = {
        "date": str(date.today()),
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, {platform.python_version()}",
        "pages": args.pages,
        "latency_ms": args.latency_ms,
        "concurrency_per_process": CONCURRENCY,
        "repeats": args.repeats,
        "summary": summary,
        "runs": runs,
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
