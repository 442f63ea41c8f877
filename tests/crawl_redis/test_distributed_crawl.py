"""Distributed crawls on a real redis-server, PostgreSQL and a local site (2 workers, one killed).

Two ``manyheads crawl`` processes share a frontier as two machines would; one is killed with
SIGKILL mid-crawl. The other finishes the crawl: every page is stored once, only the pages the
killed worker held are fetched twice, robots.txt is never violated, and the site sees the shared
delay between any two requests. ``--workers 2`` on one machine (a private redis-server, SQLite)
keeps the shared per-host concurrency.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import itertools

from crawl_helpers.fixtures import postgres_url, run_cli
from crawl_helpers.postgres import fresh_database
from crawl_helpers.redis import redis_server, unavailable
from crawl_redis.linked_site import crawl_yaml, linked_site
from manyheads.crawl._redis_frontier import connect
from manyheads.crawl._store import Store

__all__ = ["postgres_url"]  # the fixture, imported for pytest

pytestmark = pytest.mark.slow

N_PAGES = 80
DELAY_S = 0.05


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    try:
        with redis_server() as url:
            yield url
    except RuntimeError as exc:
        unavailable(str(exc))


def _crawl(cwd: Path, *, output: bool) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    pipe = subprocess.PIPE if output else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "-m", "manyheads.cli.main", "crawl", "crawl.yaml", "--quiet"],
        cwd=cwd,
        env=env,
        stdout=pipe,
        stderr=pipe,
        text=True,
    )


def _leases(client: Any) -> dict[str, set[str]]:
    """Worker id -> the URL paths it holds."""
    held: dict[str, set[str]] = {}
    for key in client.scan_iter(match="manyheads:*:leases:*"):
        members = client.hvals(key)
        urls = {json.loads(m)["r"]["url"] for m in members}
        held[key.rsplit(":", 1)[1]] = {"/" + u.split("/", 3)[3] for u in urls}
    return held


def _kill_when_busy(victim: subprocess.Popen[str], store_url: str, client: Any) -> set[str]:
    """SIGKILL ``victim`` once 20 records are stored; the paths it held at that moment."""
    import sqlalchemy as sa

    engine = sa.create_engine(store_url)
    prefix = f"{socket.gethostname()}-{victim.pid}-"
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline and victim.poll() is None:
            try:
                with engine.connect() as conn:
                    n = conn.execute(sa.text("select count(*) from pages where is_item")).scalar()
            except sa.exc.ProgrammingError:  # tables not created yet
                n = 0
            held = _leases(client)
            if (n or 0) >= 20 and any(w.startswith(prefix) and p for w, p in held.items()):
                break
            time.sleep(0.05)
    finally:
        engine.dispose()
    assert victim.poll() is None, "the victim ended before it could be killed"
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    return set().union(*(p for w, p in _leases(client).items() if w.startswith(prefix)))


@pytest.fixture(scope="module")
def killed_run(
    redis_url: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("distributed")
    store_url = fresh_database(postgres_url, "distributed_kill")
    client = connect(redis_url)
    with linked_site(N_PAGES, delay_s=0.03) as site:
        yaml = crawl_yaml(site.url, store_url, redis_url, delay_s=DELAY_S)
        (tmp / "crawl.yaml").write_text(yaml)
        survivor, victim = _crawl(tmp, output=True), _crawl(tmp, output=False)
        held = _kill_when_busy(victim, store_url, client)
        out, err = survivor.communicate(timeout=120)
        assert survivor.returncode == 0, err[-3000:]
        hits = list(site.hits.entries)
        pages = site.page_paths()
    store = Store(store_url, create=False)
    try:
        rows, runs = store.page_rows(), store.runs()
    finally:
        store.close()
    keys = list(client.scan_iter(match="manyheads:*"))
    return {"held": held, "out": out, "hits": hits, "pages": pages, "rows": rows, "runs": runs,
            "keys": keys}  # fmt: skip


def test_killed_worker_loses_nothing_and_nothing_is_stored_twice(
    killed_run: dict[str, Any],
) -> None:
    urls = [r["url"] for r in killed_run["rows"]]
    assert len(urls) == len(set(urls))
    assert {"/" + u.split("/", 3)[3] for u in urls} == killed_run["pages"]
    assert sum(r["is_item"] for r in killed_run["rows"]) == N_PAGES
    (run,) = killed_run["runs"]
    assert run["status"] == "finished"
    assert "finished" in killed_run["out"]
    assert killed_run["keys"] == []  # a finished run's frontier is deleted


def test_only_the_killed_workers_requests_are_fetched_again(killed_run: dict[str, Any]) -> None:
    held = killed_run["held"]
    assert held, "the killed worker held no request: the kill did not land mid-crawl"
    counts = collections.Counter(path for path, _, _ in killed_run["hits"])
    again = {path for path, n in counts.items() if n > 1 and path != "/robots.txt"}
    assert again <= held
    assert counts["/robots.txt"] <= 2  # each worker reads it once


def test_robots_and_the_shared_delay_hold_across_workers(killed_run: dict[str, Any]) -> None:
    hits = killed_run["hits"]
    assert [p for p, _, _ in hits if p.startswith("/private/")] == []
    starts = sorted(start for _, start, _ in hits)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # The server sees the delay give or take its threads' scheduling on a loaded machine (a
    # request's thread may start late), so single gaps vary; any 10 gaps in a row span the
    # delay 10 times, less that jitter. Without the shared token the two workers' requests
    # interleave at random, half the gaps near 0 and 10 gaps in about 5 delays.
    short = [g for g in gaps if g < 0.4 * DELAY_S]
    assert len(short) <= 0.1 * len(gaps), sorted(gaps)[:10]
    window = min(b - a for a, b in zip(starts, starts[10:], strict=False))
    assert window > 8 * DELAY_S


def test_workers_on_one_machine_share_the_per_host_concurrency(tmp_path: Path) -> None:
    # 60 pages of 0.1 s, 2 at a time: 3 s, so that both workers (started a second or so apart
    # on a loaded machine) crawl at once.
    with linked_site(60, delay_s=0.1) as site:
        yaml = crawl_yaml(site.url, "sqlite:///crawl.db", None, concurrency_per_domain=2)
        (tmp_path / "crawl.yaml").write_text(yaml)
        proc = run_cli("crawl", "crawl.yaml", "--workers", "2", "--quiet", cwd=tmp_path)
        hits = list(site.hits.entries)
    assert "crawl run 1 finished" in proc.stdout
    counts = collections.Counter(path for path, _, _ in hits)
    assert set(counts) == site.page_paths() | {"/robots.txt"}
    assert counts["/robots.txt"] <= 2  # once per worker
    assert {p for p, n in counts.items() if n > 1} <= {"/robots.txt"}
    events = sorted([(s, 1) for _, s, _ in hits] + [(e, -1) for _, _, e in hits])
    in_flight, peak = 0, 0
    for _, step in events:
        in_flight += step
        peak = max(peak, in_flight)
    assert peak == 2  # the limit over both workers, reached


def test_max_pages_holds_for_the_whole_run_not_per_worker(tmp_path: Path) -> None:
    """``limits.max_pages: 20`` with 2 workers: 20 requests at most in all (each counted in
    the frontier as it is handed out), the run finished at its budget."""
    import yaml as pyyaml

    with linked_site(120, delay_s=0.02) as site:
        config = pyyaml.safe_load(crawl_yaml(site.url, "sqlite:///crawl.db", None))
        config["limits"] = {"max_pages": 20}
        (tmp_path / "crawl.yaml").write_text(pyyaml.safe_dump(config))
        proc = run_cli("crawl", "crawl.yaml", "--workers", "2", "--quiet", cwd=tmp_path)
        pages = [path for path, _, _ in site.hits.entries if path != "/robots.txt"]
    assert "crawl run 1 finished (closespider_pagecount)" in proc.stdout
    assert 10 <= len(pages) <= 20  # per worker it was up to 20 each, and more in flight
    assert len(pages) == len(set(pages))
