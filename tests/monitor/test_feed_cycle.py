"""The monitor's crawl reads the replay's feed and sitemap: a cycle asks only for new articles."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from manyheads.monitor import ReplaySite, Scenario, SimClock, parse_monitor_config, serve_replay
from manyheads.monitor._cycle import Monitor, crawl_once

from .conftest import monitor_mapping


class CountingSite(ReplaySite):
    """The replay site, recording every path it is asked for."""

    def __init__(self, scenario: Scenario, clock: SimClock) -> None:
        super().__init__(scenario, clock)
        self.paths: list[str] = []
        self._lock = threading.Lock()

    def get(self, path: str, headers: dict[str, str]) -> Any:
        with self._lock:
            self.paths.append(path)
        return super().get(path, headers)

    def take(self) -> list[str]:
        with self._lock:
            paths, self.paths = self.paths, []
        return paths


def feed_mapping(url: str, run: Path, store: str) -> dict[str, Any]:
    """The tests' monitor config, reading the feed and sitemap instead of the listing pages."""
    raw = monitor_mapping(url, run, store)
    del raw["crawl"]["start_urls"]
    raw["crawl"]["follow"] = {
        "feeds": [f"{url}/feed.xml"],
        "sitemaps": [f"{url}/sitemap.xml"],
        "allow": [r"/article/\d+$"],
    }
    return raw


def _articles(paths: list[str]) -> list[str]:
    return sorted((p for p in paths if p.startswith("/article/")), key=lambda p: int(p[9:]))


def _new(site: ReplaySite, before: int) -> list[str]:
    return [f"/article/{a.id}" for a in site.visible()[before:]]


def test_feed_crawl_asks_only_for_new_articles(small_scenario: Scenario, tmp_path: Path) -> None:
    s = small_scenario
    clock = SimClock(s.start + timedelta(hours=2))
    site = CountingSite(s, clock)
    with serve_replay(site) as url:
        config = parse_monitor_config(feed_mapping(url, tmp_path, f"sqlite:///{tmp_path}/m.db"))
        first = crawl_once(config.crawl)
        n_first = len(site.visible())
        assert _articles(site.take()) == _new(site, 0)
        clock.advance(3600)
        second = crawl_once(config.crawl)
        paths = site.take()
    assert first["records"] == n_first
    assert _articles(paths) == _new(site, n_first)
    assert 0 < second["records"] == len(site.visible()) - n_first
    assert sorted(p for p in paths if not p.startswith("/article/")) == [
        "/feed.xml",
        "/robots.txt",
        "/sitemap.xml",
    ]


@pytest.mark.slow
def test_monitor_cycle_with_feed_scores_only_new_articles(
    small_scenario: Scenario, news_model: Path, tmp_path: Path
) -> None:
    s = small_scenario
    clock = SimClock(s.start + timedelta(hours=2))
    site = CountingSite(s, clock)
    with serve_replay(site) as url:
        raw = feed_mapping(url, news_model, f"sqlite:///{tmp_path}/m.db")
        monitor = Monitor(parse_monitor_config(raw), log=lambda _: None)
        first = monitor.cycle()
        n_first = len(site.visible())
        site.take()
        clock.advance(3600)
        second = monitor.cycle()
        paths = site.take()
        monitor.close()
    assert first.n_scored == n_first
    assert _articles(paths) == _new(site, n_first)
    assert second.n_scored == len(site.visible()) - n_first
