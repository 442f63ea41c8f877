"""A distributed crawl whose Redis server dies: exit 2 with the fix, nothing lost, and the same
command continues the crawl once Redis is back (a real redis-server with an append-only file,
a local site, SQLite)."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawl_helpers.redis import free_port, start_redis, stop_redis, unavailable
from crawl_redis.linked_site import crawl_yaml, linked_site

pytestmark = pytest.mark.slow  # two crawls of 120 pages 0.1 s apart, about 20 s

N_PAGES = 120


def _crawl(cwd: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "MANYHEADS_FRONTIER_TIMEOUT": "2"}
    return subprocess.Popen(
        [sys.executable, "-m", "manyheads.cli.main", "crawl", "crawl.yaml", "--quiet", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stored(db: Path) -> int:
    try:  # read-only: never create the store before the crawl does
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return int(conn.execute("select count(*) from pages where is_item").fetchone()[0])
    except sqlite3.OperationalError:  # the store or its tables are not there yet
        return 0


def test_a_lost_frontier_stops_the_crawl_with_exit_2_and_the_same_command_continues(
    tmp_path: Path,
) -> None:
    root, port = tempfile.mkdtemp(prefix="manyheads-redis-lost-"), free_port()
    try:
        server = start_redis(port, root, persist=True)
    except RuntimeError as exc:
        shutil.rmtree(root, ignore_errors=True)
        unavailable(str(exc))
    url, db = f"redis://127.0.0.1:{port}/0", tmp_path / "store.db"
    try:
        with linked_site(N_PAGES, delay_s=0.05) as site:
            (tmp_path / "crawl.yaml").write_text(crawl_yaml(site.url, str(db), url, delay_s=0.1))
            crawl = _crawl(tmp_path)
            deadline = time.monotonic() + 60
            while _stored(db) < 10 and crawl.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert crawl.poll() is None, "the crawl ended before Redis could be killed"
            server.send_signal(signal.SIGKILL)  # the frontier's server dies mid-crawl
            server.wait()
            started = time.monotonic()
            _, err = crawl.communicate(timeout=60)
            waited = time.monotonic() - started

            assert crawl.returncode == 2, err[-2000:]
            assert waited < 30  # gave up after MANYHEADS_FRONTIER_TIMEOUT=2, not hanging
            assert "Traceback" not in err
            assert (
                f"manyheads crawl: error: {url}: the Redis frontier did not answer for 2 s" in err
            )
            assert "run the same command to continue" in err
            with sqlite3.connect(db) as conn:
                assert conn.execute("select status, finish_reason from crawl_runs").fetchall() == [
                    ("paused", "frontier_lost")
                ]
            stored_before = _stored(db)
            assert 10 <= stored_before < N_PAGES

            server = start_redis(port, root, persist=True)  # back, with its append-only file
            again = _crawl(tmp_path)
            _, err = again.communicate(timeout=120)
            assert again.returncode == 0, err[-2000:]
    finally:
        stop_redis(server)
        shutil.rmtree(root, ignore_errors=True)
    with sqlite3.connect(db) as conn:
        urls = [u for (u,) in conn.execute("select url from pages where is_item")]
        runs = conn.execute("select status from crawl_runs").fetchall()
    assert len(urls) == len(set(urls)) == N_PAGES  # every page once, none lost
    assert runs == [("finished",)]  # the paused run was continued, not a new one started
