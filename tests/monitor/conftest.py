"""Fixtures of the monitor tests: the demo model (trained once per session), a small replay
scenario with a planted spike, a real webhook receiver, and monitor configs."""

from __future__ import annotations

import http.server
import json
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawl_helpers.fixtures import run_once
from manyheads.monitor import (
    ReplaySite,
    Scenario,
    SimClock,
    build_scenario,
    parse_monitor_config,
    serve_replay,
)
from manyheads.monitor._cycle import Monitor
from manyheads.monitor._db import MonitorDB

#: The small replay: 10 one-hour buckets of 30 articles; 30 extra Earnings articles, 90%
#: truly Bearish, in buckets 7 and 8.
SMALL = {"n_buckets": 10, "per_bucket": 30, "spike_start": 7, "spike_buckets": 2, "seed": 0}


@pytest.fixture(scope="session")
def news_data(shared_data: Path) -> Path:
    """``$MANYHEADS_DATA/twitter-financial-news``."""
    folder = shared_data / "twitter-financial-news"
    if not (folder / "sent_valid.csv").is_file():
        pytest.fail(f"{folder} lacks sent_valid.csv: the shared data folder is incomplete")
    return folder


@pytest.fixture(scope="session")
def news_model(tmp_path_factory: pytest.TempPathFactory, news_data: Path) -> Path:
    """The demo topic + sentiment run, trained once per session (across xdist workers)."""

    def produce(work: Path) -> dict[str, Any]:
        from manyheads.monitor._demo import train_demo_model

        return {"run": str(train_demo_model(news_data, work / "run"))}

    return Path(run_once(tmp_path_factory, "monitor-model", produce)["run"])


@pytest.fixture(scope="session")
def small_scenario(news_data: Path) -> Scenario:
    """The small replay scenario (370 articles)."""
    return build_scenario(news_data, **SMALL)


class Receiver:
    """A real HTTP server on 127.0.0.1 that records the JSON bodies POSTed to it."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.status = 200
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.posts.append(
                    {"content_type": self.headers.get("Content-Type"), "json": json.loads(body)}
                )
                self.send_response(owner.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver for one test."""
    r = Receiver()
    yield r
    r.close()


def _snapshot(db: MonitorDB) -> tuple[list[dict[str, Any]], ...]:
    return db.article_rows(), db.bucket_rows(), db.alert_rows()


@pytest.fixture(scope="session")
def monitored(
    tmp_path_factory: pytest.TempPathFactory, news_model: Path, small_scenario: Scenario
) -> dict[str, Any]:
    """The small replay monitored in three cycles, then a fourth that must change nothing.

    Run once per session (across xdist workers); the results come back as JSON (times as
    strings), the store and the dashboard stay in the shared folder ``work``.
    """
    s = small_scenario

    def produce(work: Path) -> dict[str, Any]:
        receiver = Receiver()
        clock = SimClock(s.start)
        logs: list[str] = []
        with serve_replay(ReplaySite(s, clock)) as url:
            raw = monitor_mapping(
                url,
                news_model,
                f"sqlite:///{work / 'monitor.db'}",
                alerts={"webhook": receiver.url},
                dashboard=str(work / "dashboard.html"),
            )
            monitor = Monitor(parse_monitor_config(raw), log=logs.append)
            reports = []
            for hours in (5, 9, 10.5):  # three cycles; the last sees every article
                clock.set(s.start + timedelta(hours=hours))
                reports.append(asdict(monitor.cycle()))
            before, n_posts = _snapshot(monitor.db), len(receiver.posts)
            again = asdict(monitor.cycle())
            after = _snapshot(monitor.db)
            monitor.close()
        receiver.close()
        return {
            "work": str(work),
            "reports": reports,
            "again": again,
            "before": before,
            "after": after,
            "posts": receiver.posts,
            "n_posts": n_posts,
            "logs": logs,
            "config": raw,
        }

    result = run_once(tmp_path_factory, "monitor-replay", produce)
    return {**result, "work": Path(result["work"])}


def monitor_mapping(site: str, run: Path, store: str, **extra: Any) -> dict[str, Any]:
    """A monitor config for the replay site at ``site`` (the mapping a monitor.yaml holds)."""
    return {
        "crawl": {
            "start_urls": [f"{site}/latest"],
            "allowed_domains": ["127.0.0.1"],
            "follow": {"allow": ["/latest", r"/article/\d+$"]},
            "items": {
                "match": r"/article/\d+$",
                "fields": {
                    "headline": {"css": "article h1::text"},
                    "body": {"css": "article .body::text"},
                    "published": {"css": "article time::attr(datetime)"},
                },
            },
            "safety": {"allow_private": True},  # the replay runs on 127.0.0.1: opt in
            "politeness": {"autothrottle": False},
            "progress_s": 0,
        },
        "store": store,
        "model": {
            "run": str(run),
            "inputs": {"text": "headline"},
            "topic_inputs": {"text": "body"},
        },
        "detect": {"bucket": "1h", "min_count": 10, "warmup_buckets": 4, "sigma": 3.0},
        **extra,
    }
