"""Recrawl with Last-Modified / If-Modified-Since (a static file server) keeps unchanged rows."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawl_helpers.fixtures import run_cli
from crawl_helpers.servers import serve_directory
from manyheads.crawl._store import Store

pytestmark = pytest.mark.slow


def _write(site: Path, name: str, body: str, mtime: float) -> None:
    path = site / name
    path.write_text(f"<html><body><main><h1>{name}</h1><p>{body}</p></main></body></html>")
    os.utime(path, (mtime, mtime))


def test_recrawl_with_last_modified(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    old = time.time() - 3600
    links = "".join(f"<a href='p{i}.html'>{i}</a>" for i in range(5))
    (site / "index.html").write_text(f"<html><body>{links}</body></html>")
    for i in range(5):
        _write(site, f"p{i}.html", f"first version {i}", old)
    with serve_directory(site) as server:
        (tmp_path / "crawl.yaml").write_text(
            f"start_urls: ['{server.url}/index.html']\n"
            "items: {match: 'p\\d', fields: {title: {css: 'h1::text'},"
            " text: {extract: main_text}}}\n"
            "store: sqlite:///c.db\nsafety: {allow_private: true}\nprogress_s: 0\n"
        )
        first = run_cli("crawl", "crawl.yaml", cwd=tmp_path).stdout
        server.log.clear()
        second = run_cli("crawl", "crawl.yaml", cwd=tmp_path).stdout
        conditional = [h for _, _, p, h in server.log.entries if p.startswith("/p")]
        _write(site, "p3.html", "second version", old + 60)
        third = run_cli("crawl", "crawl.yaml", cwd=tmp_path).stdout
    assert "5 records written" in first
    assert re.search(r"0 records written, 6 unchanged", second)
    assert len(conditional) == 5
    assert all("If-Modified-Since" in h for h in conditional)
    assert re.search(r"1 records written, 5 unchanged", third)
    records = {
        r["url"].rsplit("/", 1)[1]: r
        for r in Store(f"sqlite:///{tmp_path / 'c.db'}").read_records()
    }
    assert records["p3.html"]["text"] == "p3.html\nsecond version"
    assert records["p1.html"]["text"] == "p1.html\nfirst version 1"
