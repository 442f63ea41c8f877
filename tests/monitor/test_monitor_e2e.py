"""The whole loop on the small replay: crawl -> score -> detect -> alert, against the targets.

A real replay site and a real webhook receiver on 127.0.0.1, the crawler in its own process
per cycle, the demo model, SQLite. Targets (issue 20): the planted spike alerted within one
bucket of its start, no false alert, every article scored once; a repeated cycle changes
nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from manyheads.monitor import Scenario

pytestmark = pytest.mark.slow


def test_every_article_is_scored_once(monitored: dict[str, Any], small_scenario: Scenario) -> None:
    articles = monitored["after"][0]
    assert len(articles) == len(small_scenario.articles)
    assert {a["n_scored"] for a in articles} == {1}
    assert all(a["problem"] is None and a["topic"] for a in articles)
    scored = [r["n_scored"] for r in monitored["reports"]]
    assert sum(scored) == len(small_scenario.articles)
    assert all(n > 0 for n in scored)
    # the recrawls asked with If-None-Match: earlier pages came back unchanged
    assert monitored["reports"][1]["crawl"]["unchanged"] > 0


def test_planted_spike_alerts_in_time_and_nothing_else(
    monitored: dict[str, Any], small_scenario: Scenario
) -> None:
    s = small_scenario
    alerts = monitored["after"][2]
    assert [a["topic"] for a in alerts] == [s.spike_topic]  # 0 false alerts
    lag = s.bucket_of(datetime.fromisoformat(alerts[0]["bucket_start"])) - s.spike_start
    assert 0 <= lag <= 1
    assert alerts[0]["share"] > alerts[0]["limit"] > alerts[0]["baseline"]
    assert any("ALERT topic='Earnings'" in line for line in monitored["logs"])


def test_webhook_gets_the_alert_json(monitored: dict[str, Any], small_scenario: Scenario) -> None:
    (post,) = monitored["posts"]
    assert post["content_type"] == "application/json"
    body = post["json"]
    assert set(body) >= {"topic", "bucket", "share", "baseline", "limit", "count", "headlines"}
    assert body["topic"] == "Earnings"
    assert body["count"] >= 10
    heads = {a.headline for a in small_scenario.articles}
    assert 0 < len(body["headlines"]) <= 5
    assert all(h["headline"] in heads for h in body["headlines"])
    assert monitored["after"][2][0]["delivered"]


def test_a_repeated_cycle_changes_nothing(monitored: dict[str, Any]) -> None:
    again = monitored["again"]
    assert again["n_scored"] == 0
    assert again["crawl"]["records"] == 0
    assert again["alerts"] == []
    assert again["n_bucket_rows_written"] == 0
    assert monitored["after"] == monitored["before"]
    assert len(monitored["posts"]) == monitored["n_posts"]


def test_dashboard_page_is_offline(monitored: dict[str, Any]) -> None:
    page = (monitored["work"] / "dashboard.html").read_text()
    assert page.startswith("<!-- manyheads monitor dashboard -->")
    assert "<svg" in page
    assert "class='alert'" in page
    assert "<script" not in page  # nothing to fetch: no CDN
    assert "src=" not in page
    assert page.count("<link") == 1
    assert "<link rel='icon' href='data:,'>" in page
