"""``manyheads monitor`` as a user runs it: ``--every`` stops cleanly on SIGTERM after its cycle,
``--once`` (cron) then finds nothing new; the same store on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from crawl_helpers.fixtures import postgres_url  # noqa: F401
from crawl_helpers.postgres import fresh_database
from manyheads.monitor import ReplaySite, Scenario, SimClock, parse_monitor_config, serve_replay
from manyheads.monitor._cycle import Monitor

from .conftest import monitor_mapping

pytestmark = pytest.mark.slow


def _start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "manyheads.cli.main", "monitor", *args],
        cwd=cwd,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_every_stops_on_sigterm_then_once_finds_nothing_new(
    tmp_path: Path, news_model: Path, small_scenario: Scenario
) -> None:
    clock = SimClock(small_scenario.start + timedelta(hours=2))
    with serve_replay(ReplaySite(small_scenario, clock)) as url:
        raw = monitor_mapping(url, news_model, "sqlite:///m.db", dashboard="dash.html")
        (tmp_path / "monitor.yaml").write_text(yaml.safe_dump(raw))
        proc = _start(["monitor.yaml", "--every", "1h"], tmp_path)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stderr or []), daemon=True)
        reader.start()
        deadline = time.monotonic() + 120
        while not any("monitor cycle:" in line for line in lines):
            assert proc.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "no cycle within 120 s"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        reader.join(timeout=5)
        for pipe in (proc.stdout, proc.stderr):
            assert pipe is not None
            pipe.close()
        once = _start(["monitor.yaml", "--once"], tmp_path)
        out, err = once.communicate(timeout=120)
    log = "".join(lines)
    assert "SIGTERM received; stopping after this cycle" in log
    assert "stopped after 1 cycle" in log
    published = len([a for a in small_scenario.articles if a.published <= clock.now()])
    assert f"{published} articles scored" in log
    assert once.returncode == 0, err
    assert "0 pages written" in out
    assert "0 articles scored" in out
    assert (tmp_path / "dash.html").read_text().startswith("<!-- manyheads monitor dashboard")


def test_postgresql_store(
    postgres_url: str,  # noqa: F811
    news_model: Path,
    small_scenario: Scenario,
) -> None:
    store = fresh_database(postgres_url, "monitor_e2e")
    clock = SimClock(small_scenario.start + timedelta(hours=10, minutes=30))
    with serve_replay(ReplaySite(small_scenario, clock)) as url:
        monitor = Monitor(parse_monitor_config(monitor_mapping(url, news_model, store)))
        first = monitor.cycle()
        again = monitor.cycle()
        articles, alerts = monitor.db.article_rows(), monitor.db.alert_rows()
        monitor.close()
    assert first.n_scored == len(small_scenario.articles) == len(articles)
    assert again.n_scored == 0
    assert again.n_bucket_rows_written == 0
    assert len(first.alerts) == 1
    assert again.alerts == []
    assert [a["topic"] for a in alerts] == [small_scenario.spike_topic]
