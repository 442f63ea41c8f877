"""Crawl Python's HTML documentation (Debian's python3.11-doc) served on 127.0.0.1."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawl_helpers.fixtures import DOCS_ROOT, run_cli, run_once
from crawl_helpers.servers import serve_directory
from manyheads.crawl import read_store
from manyheads.crawl._store import Store

pytestmark = pytest.mark.slow

ALLOW = [r"/library/", r"/tutorial/", r"/index\.html$", r"/contents\.html$"]
DENY = [r"/c-api/", r"/_sources/", r"genindex", r"search\.html"]
MATCH = r"/(library|tutorial)/[^/]+\.html$"
CONFIG = f"""\
start_urls: ['{{url}}/index.html']
allowed_domains: [127.0.0.1]
follow: {{{{allow: {ALLOW!r}, deny: {DENY!r}, max_depth: 2}}}}
items:
  match: '{MATCH}'
  fields:
    title: {{{{css: 'h1::text'}}}}
    text: {{{{extract: main_text}}}}
    section: {{{{url_regex: '^/([^/]+)/'}}}}
    headings: {{{{css: 'h2::text', all: true}}}}
store: sqlite:///docs.db
limits: {{{{max_pages: 250}}}}
politeness: {{{{autothrottle: false}}}}
safety: {{{{allow_private: true}}}}
progress_s: 1
"""


@pytest.fixture(scope="module")
def docs_crawl(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], str]:
    if not (DOCS_ROOT / "index.html").exists():
        reason = f"{DOCS_ROOT} missing: apt-get install python3.11-doc (.ci/services.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    r = run_once(tmp_path_factory, "docs", _crawl)
    return Path(r["db"]), r["requested"], r["stderr"]


def _crawl(tmp: Path) -> dict[str, Any]:
    with serve_directory(DOCS_ROOT) as server:
        (tmp / "crawl.yaml").write_text(CONFIG.format(url=server.url))
        proc = run_cli("crawl", "crawl.yaml", cwd=tmp, timeout=150)
        requested = server.log.paths()
    return {"db": str(tmp / "docs.db"), "requested": requested, "stderr": proc.stderr}


def test_pages_follow_the_rules(docs_crawl: tuple[Path, list[str], str]) -> None:
    db, requested, _ = docs_crawl
    rows = Store(f"sqlite:///{db}").page_rows()
    assert 250 <= len(rows) <= 300
    for row in rows:
        path = "/" + row["url"].split("/", 3)[3]
        assert row["url"].startswith("http://127.0.0.1:")
        assert row["depth"] <= 2
        assert not any(re.search(d, path) for d in DENY), path
        assert any(re.search(a, path) for a in ALLOW) or re.search(MATCH, path), path
    html_requests = [p for p in requested if p != "/robots.txt"]
    assert not [p for p in html_requests if any(re.search(d, p) for d in DENY)]
    assert len(html_requests) == len(set(html_requests)), "a page was requested twice"


def test_records_have_fields(docs_crawl: tuple[Path, list[str], str]) -> None:
    db, _, _ = docs_crawl
    frame = read_store(f"sqlite:///{db}")
    assert list(frame.columns) == ["headings", "section", "text", "title", "url"]
    assert len(frame) >= 200
    assert set(frame["section"]) <= {"library", "tutorial"}
    assert (frame["section"] == frame["url"].str.extract(r"^http://[^/]+/([^/]+)/")[0]).all()
    assert frame["title"].notna().mean() > 0.95
    assert (frame["text"].str.len() > 200).mean() > 0.9
    assert frame["url"].is_unique
    some = frame.set_index(frame["url"].str.replace(r"^http://[^/]+", "", regex=True))
    if "/library/functions.html" in some.index:
        assert some.loc["/library/functions.html", "title"].startswith("Built-in Functions")


def test_nothing_external_requested(docs_crawl: tuple[Path, list[str], str]) -> None:
    db, requested, _ = docs_crawl
    store = Store(f"sqlite:///{db}")
    assert all(p.startswith("/") for p in requested)
    assert all(f["url"].startswith("http://127.0.0.1:") for f in store.failures())
    # The pages do link outside (docs.python.org, github.com ...): none of it was followed.
    assert "https://" in (DOCS_ROOT / "library" / "functions.html").read_text(encoding="utf-8")
    assert all(row["url"].startswith("http://127.0.0.1:") for row in store.page_rows())


def test_run_and_progress_recorded(docs_crawl: tuple[Path, list[str], str]) -> None:
    db, _, stderr = docs_crawl
    (run,) = Store(f"sqlite:///{db}").runs()
    assert run["status"] == "finished"
    assert run["finish_reason"] == "closespider_pagecount"
    assert run["stats"]["response_received_count"] >= 250
    assert re.search(
        r"crawl: \d+ pages, \d+ records, 0 unchanged, \d+ failures, [\d.]+ pages/s", stderr
    )
