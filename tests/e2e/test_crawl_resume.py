"""Resume after SIGKILL (no page lost, none stored twice) and recrawl with conditional requests."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawl_helpers.fixtures import run_cli, run_once
from crawl_helpers.review_site import make_review_site, review_crawl_yaml, review_html
from crawl_helpers.servers import serve_pages
from manyheads.crawl._store import Store

pytestmark = pytest.mark.slow


def _count_items(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("select count(*) from pages where is_item").fetchone()[0])
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def _kill_midway(tmp: Path, db: Path, at_least: int) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "manyheads.cli.main", "crawl", "crawl.yaml", "--quiet"],
        cwd=tmp,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if _count_items(db) >= at_least:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the crawl ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


N_REVIEWS = 300


@pytest.fixture(scope="module")
def resumed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    result = run_once(tmp_path_factory, "resume", _crawls)
    result["site"] = make_review_site(N_REVIEWS)
    return result


@contextmanager
def _store(db: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{db}", create=False)
    try:
        yield store
    finally:
        store.close()


def _crawls(tmp: Path) -> dict[str, Any]:
    site = make_review_site(N_REVIEWS)
    pages = dict(site.pages)
    db = tmp / "crawl.db"
    out: dict[str, Any] = {"db": str(db)}
    with serve_pages(pages, delay_s=0.03) as server:
        (tmp / "crawl.yaml").write_text(
            # 4 at once (not the site config's 16), so that the kill lands midway; a second
            # 'politeness' key would be refused as a duplicate
            review_crawl_yaml(server.url, f"sqlite:///{db}").replace(
                "concurrency_per_domain: 16", "concurrency_per_domain: 4"
            )
        )
        _kill_midway(tmp, db, at_least=60)
        # each read opens the store afresh, as another process would: a reader that lives
        # across another process's crawl can keep an older snapshot of the WAL database
        with _store(db) as store:
            out["before"] = sorted(r["url"] for r in store.page_rows())
            out["runs_after_kill"] = store.runs()
        server.log.clear()
        out["resume_stdout"] = run_cli("crawl", "crawl.yaml", cwd=tmp).stdout
        out["resume_requests"] = server.log.paths()
        with _store(db) as store:
            out["after"] = store.page_rows()
            out["runs_after_resume"] = store.runs()
        # Recrawl: change two reviews, crawl again, only they come back with a body.
        changed = [p for p in pages if p.startswith("/review/")][:2]
        for path in changed:
            pages[path] = review_html(
                int(path.rsplit("/", 1)[1]), "Changed", "New text " * 20, "Tops", 1
            )
        server.log.clear()
        out["recrawl_stdout"] = run_cli("crawl", "crawl.yaml", cwd=tmp).stdout
        out["recrawl_headers"] = [(p, h) for _, _, p, h in server.log.entries]
        out["changed"] = changed
        with _store(db) as store:
            out["final"] = store.page_rows()
            out["runs_final"] = store.runs()
    return out


def test_killed_run_is_left_running(resumed: dict[str, Any]) -> None:
    (run,) = resumed["runs_after_kill"]
    assert run["status"] == "running"
    assert 60 <= len(resumed["before"]) < 300


def test_resume_loses_nothing_and_stores_nothing_twice(resumed: dict[str, Any]) -> None:
    site, after = resumed["site"], resumed["after"]
    urls = [r["url"] for r in after]
    assert len(urls) == len(set(urls))
    paths = {"/" + u.split("/", 3)[3] for u in urls}
    expected = {p for p in site.pages if p not in ("/about", "/login", "/robots.txt")}
    assert paths == expected
    assert "resumed and finished" in resumed["resume_stdout"]
    (run,) = resumed["runs_after_resume"]
    assert run["status"] == "finished"
    assert run["n_attempts"] == 2


def test_resume_does_not_refetch_stored_pages(resumed: dict[str, Any]) -> None:
    before = {"/" + u.split("/", 3)[3] for u in resumed["before"]}
    again = [p for p in resumed["resume_requests"] if p in before]
    assert again == []


def test_recrawl_is_conditional_and_updates_changed_pages(resumed: dict[str, Any]) -> None:
    headers = resumed["recrawl_headers"]
    reviews = [(p, h) for p, h in headers if p.startswith("/review/")]
    assert reviews
    assert all("If-None-Match" in h for _, h in reviews)
    assert "2 records written" in resumed["recrawl_stdout"]
    final = {"/" + r["url"].split("/", 3)[3]: r for r in resumed["final"]}
    after = {"/" + r["url"].split("/", 3)[3]: r for r in resumed["after"]}
    for path in resumed["changed"]:
        assert '"title": "Changed"' in final[path]["fields"]
        assert final[path]["run_id"] == 2
    untouched = [p for p in final if p not in resumed["changed"] and p.startswith("/review/")]
    assert all(final[p]["fields"] == after[p]["fields"] for p in untouched)
    assert all(final[p]["fetched_at"] == after[p]["fetched_at"] for p in untouched)
    assert all(final[p]["run_id"] == 2 for p in untouched)
    assert [r["status"] for r in resumed["runs_final"]] == ["finished", "finished"]
