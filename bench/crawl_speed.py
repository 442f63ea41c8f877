"""Crawl speed: manyheads crawl vs a minimal plain Scrapy spider on the same local site, same run.

The site is Python's HTML documentation (Debian's python3.11-doc, 530 pages) served by
``python -m http.server`` on 127.0.0.1 in its own process. Each crawler runs in its own process
with Scrapy's default concurrency (16 requests, 8 per domain), robots.txt obeyed, no
AutoThrottle, and stops after ``--pages`` responses. Runs alternate (plain, manyheads, plain, ...)
and the median of ``--repeats`` is reported. Pages per second is Scrapy's own
``response_received_count / elapsed_time_seconds`` (process start-up excluded) for both.

manyheads turns every page into a record (title by CSS, main text, section by URL regex),
flags exact and near duplicates and writes everything to SQLite. A second variant forces
trafilatura for the main text. Then the store alone: records per second written to SQLite and
PostgreSQL in the pipeline's batches of 200 (fresh inserts, then idempotent re-upserts).

Usage:
    python bench/crawl_speed.py --pages 400 --repeats 3 --json bench/results/crawl_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

DOCS = Path("/usr/share/doc/python3.11/html")
ROOT = Path(__file__).resolve().parents[1]

PLAIN = r"""
import json, sys
import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.linkextractors import LinkExtractor

start, n = sys.argv[1], int(sys.argv[2])

class Plain(scrapy.Spider):
    name = "plain"
    allowed_domains = ["127.0.0.1"]
    start_urls = [start]
    links = LinkExtractor()

    def parse(self, response):
        yield {"url": response.url, "title": response.css("h1::text").get()}
        for link in self.links.extract_links(response):
            yield response.follow(link.url, self.parse)

process = CrawlerProcess({"LOG_LEVEL": "ERROR", "CLOSESPIDER_PAGECOUNT": n,
                          "ROBOTSTXT_OBEY": True, "TELNETCONSOLE_ENABLED": False})
crawler = process.create_crawler(Plain)
process.crawl(crawler)
process.start()
s = crawler.stats.get_stats()
print(json.dumps({"pages": s.get("response_received_count", 0),
                  "seconds": s["elapsed_time_seconds"]}))
"""

OURS = """\
start_urls: ['{url}/index.html']
allowed_domains: [127.0.0.1]
items:
  match: '\\.html$'
  fields:
    title: {{css: 'h1::text'}}
    text: {{extract: {extract}}}
    section: {{url_regex: '^/([^/]+)/'}}
store: 'sqlite:///{db}'
limits: {{max_pages: {pages}}}
politeness: {{autothrottle: false, concurrency: 16, concurrency_per_domain: 8}}
safety: {{allow_private: true}}
progress_s: 0
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONWARNINGS": "ignore"}


def run_plain(url: str, pages: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "plain_spider.py"  # Scrapy inspects callbacks' source: a real file
        script.write_text(PLAIN)
        out = subprocess.run(
            [sys.executable, str(script), f"{url}/index.html", str(pages)],
            capture_output=True,
            text=True,
            check=True,
            env=_env(),
            timeout=600,
        ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def run_ours(url: str, pages: int, extract: str) -> dict[str, float]:
    from manyheads.crawl._store import Store

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        cfg = Path(tmp) / "crawl.yaml"
        cfg.write_text(OURS.format(url=url, db=db, pages=pages, extract=extract))
        subprocess.run(
            [sys.executable, "-m", "manyheads.cli.main", "crawl", str(cfg), "--quiet"],
            capture_output=True,
            text=True,
            check=True,
            env=_env(),
            timeout=600,
            cwd=tmp,
        )
        store = Store(f"sqlite:///{db}")
        stats = store.runs()[-1]["stats"]
        records = len(store.read_records())
        store.close()
    return {
        "pages": stats["response_received_count"],
        "seconds": stats["elapsed_time_seconds"],
        "records": records,
    }


def _rows(n: int, run: int) -> list[dict[str, Any]]:
    words = [f"w{i % 997}" for i in range(300)]
    text = " ".join(words)
    return [
        {
            "url": f"http://bench.invalid/page/{i}",
            "run_id": run,
            "status": 200,
            "depth": 1,
            "body_hash": f"{i:064x}",
            "content_hash": f"{i:064x}",
            "is_item": True,
            "fields": json.dumps({"title": f"Page {i}", "text": text, "section": "library"}),
            "links": json.dumps([f"http://bench.invalid/page/{j}" for j in range(i, i + 20)]),
            "minhash": os.urandom(512),
        }
        for i in range(n)
    ]


def store_rate(url: str, n: int = 5000, batch: int = 200) -> dict[str, float]:
    """Records per second through Store.write_pages in batches: insert, then re-upsert."""
    from manyheads.crawl._store import Store

    store = Store(url)
    run = store.start_run("bench", config="{}")
    rows = _rows(n, run)
    result = {}
    for phase in ("insert", "upsert"):
        start = time.perf_counter()
        for i in range(0, n, batch):
            store.write_pages(rows[i : i + batch])
        result[phase] = n / (time.perf_counter() - start)
    store.close()
    return result


def postgres_rate() -> dict[str, float] | str:
    sys.path.insert(0, str(ROOT / "tests"))
    from crawl_helpers.postgres import postgres_server  # a private throwaway cluster

    try:
        with postgres_server() as url:
            return store_rate(url)
    except RuntimeError as exc:
        return f"not measured: {exc}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    if not (DOCS / "index.html").exists():
        sys.exit(f"{DOCS} is missing: apt-get install python3.11-doc")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "-d", str(DOCS)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    url = f"http://127.0.0.1:{port}"
    runs: dict[str, list[dict[str, float]]] = {"plain": [], "main_text": [], "trafilatura": []}
    try:
        for _ in range(args.repeats):
            runs["plain"].append(run_plain(url, args.pages))
            runs["main_text"].append(run_ours(url, args.pages, "main_text"))
            runs["trafilatura"].append(run_ours(url, args.pages, "trafilatura"))
    finally:
        server.terminate()
        server.wait(timeout=10)
    rate = {k: statistics.median(r["pages"] / r["seconds"] for r in v) for k, v in runs.items()}
    result = {
        "date": date.today().isoformat(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "python": platform.python_version(),
        "pages": args.pages,
        "repeats": args.repeats,
        "pages_per_s": rate,
        "ratio_main_text": rate["main_text"] / rate["plain"],
        "ratio_trafilatura": rate["trafilatura"] / rate["plain"],
        "runs": runs,
        "sqlite_records_per_s": store_rate(f"sqlite:///{tempfile.mkdtemp()}/bench.db"),
        "postgres_records_per_s": postgres_rate(),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
