"""A crawl of a fault-injecting site completes, records every failure and obeys robots.txt."""

from __future__ import annotations

import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawl_helpers.faults import (
    DISALLOWED,
    EXPECTED_FAILURES,
    EXPECTED_PAGES,
    MAX_BYTES,
    TIMEOUT_S,
    FaultSite,
)
from crawl_helpers.fixtures import run_cli, run_once
from crawl_helpers.servers import serve_pages
from manyheads.crawl._store import Store

pytestmark = pytest.mark.slow

CONFIG = """\
start_urls: ['{url}/']
allowed_domains: [127.0.0.1]
items:
  match: '.'
  fields:
    title: {{css: 'h1::text'}}
    text: {{extract: main_text}}
store: {{url: 'sqlite:///{db}', raw_html: true}}
limits: {{max_page_bytes: {max_bytes}, timeout_s: {timeout}}}
politeness: {{autothrottle: false}}
retries: {{times: 1, backoff_s: 0.1}}
safety: {{allow_private: true}}
progress_s: 0
"""


def _crawl(tmp: Path) -> dict[str, Any]:
    site = FaultSite()
    with serve_pages(site.handle, raw=site.raw, raw_paths=FaultSite.RAW) as server:
        site.port = server.port
        db = tmp / "faults.db"
        (tmp / "crawl.yaml").write_text(
            CONFIG.format(url=server.url, db=db, max_bytes=MAX_BYTES, timeout=TIMEOUT_S)
        )
        proc = run_cli("crawl", "crawl.yaml", cwd=tmp, timeout=90)
        entries = list(server.log.entries)
    flaky = [t for t, _, p, _ in entries if p == "/flaky"]
    gap = flaky[1] - flaky[0] if len(flaky) >= 2 else -1.0
    return {"db": str(db), "requested": [e[2] for e in entries], "stdout": proc.stdout, "gap": gap}


@pytest.fixture(scope="module")
def fault_crawl(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, list[str], str, float]:
    r = run_once(tmp_path_factory, "faults", _crawl)
    return Store(f"sqlite:///{r['db']}"), r["requested"], r["stdout"], r["gap"]


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3] if url.count("/") >= 3 else url


def test_crawl_completes(fault_crawl: tuple[Store, list[str], str, float]) -> None:
    store, _, stdout, _ = fault_crawl
    assert "finished (finished)" in stdout
    (run,) = store.runs()
    assert run["status"] == "finished"
    assert run["stats"]["manyheads/failures"] == len(store.failures())


def test_robots_disallowed_never_requested(
    fault_crawl: tuple[Store, list[str], str, float],
) -> None:
    _, requested, _, _ = fault_crawl
    assert "/robots.txt" in requested
    assert not [p for p in requested if p.startswith("/private/")]
    failures = {_path(f["url"]): f["error"] for f in fault_crawl[0].failures()}
    for path in DISALLOWED:
        assert "robots.txt" in failures[path]


def test_every_failure_recorded(fault_crawl: tuple[Store, list[str], str, float]) -> None:
    store = fault_crawl[0]
    failures = {_path(f["url"]): f for f in store.failures()}
    for path, hint in EXPECTED_FAILURES.items():
        assert path in failures, f"{path} not recorded; recorded: {sorted(failures)}"
        assert hint.lower() in failures[path]["error"].lower(), (path, failures[path])
    assert failures["/e500"]["status"] == 500
    assert failures["/e503"]["status"] == 503
    assert failures["/e404"]["status"] == 404
    # Refused redirects name the reason and the target, never just "HTTP 302".
    assert "offsite" in failures["/meta-offsite"]["error"]
    assert failures["/file-redirect"]["status"] is None


def test_good_and_odd_pages_stored(fault_crawl: tuple[Store, list[str], str, float]) -> None:
    store = fault_crawl[0]
    rows = {_path(r["url"]): r for r in store.page_rows()}
    for path in EXPECTED_PAGES:
        assert path in rows, f"{path} missing; stored: {sorted(rows)}"
    records = {_path(r["url"]): r for r in store.read_records()}
    assert records["/gbk"]["title"] == "中文标题"
    assert records["/gbk-meta"]["title"] == "元标签编码"
    assert "\ufffd" in records["/bad-utf8"]["title"]
    assert records["/malformed"]["title"].startswith("Malformed")
    assert records["/flaky"]["title"] == "Flaky recovered"
    raw = zlib.decompress(rows["/gbk"]["raw_html"])
    assert raw.decode("gbk").count("中文标题") == 2  # <title> and <h1>: the bytes as served
    assert "/ok/3" in rows  # reached through /redirect-ok


def test_retry_after_honoured(fault_crawl: tuple[Store, list[str], str, float]) -> None:
    gap = fault_crawl[3]
    assert gap >= 0.9, f"retry of /flaky came {gap:.2f}s after the 503 with Retry-After: 1"


def test_no_foreign_requests(fault_crawl: tuple[Store, list[str], str, float]) -> None:
    _, requested, _, _ = fault_crawl
    # The server saw only its own paths: no ftp/mailto/javascript, no other host via redirect.
    assert all(p.startswith("/") for p in requested)
    assert requested.count("/ok/2") == 1  # linked directly, never via the offsite redirect
