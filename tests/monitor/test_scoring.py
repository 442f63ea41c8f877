"""Scoring and alert delivery without a crawl: pages written straight into the store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from manyheads.crawl._store import Store
from manyheads.errors import ConfigError
from manyheads.monitor import parse_monitor_config
from manyheads.monitor._alerts import post_webhook
from manyheads.monitor._cycle import Monitor

from .conftest import Receiver, monitor_mapping

pytestmark = pytest.mark.slow


def _page(url: str, fields: dict[str, Any], run: int) -> dict[str, Any]:
    return {
        "url": url,
        "run_id": run,
        "status": 200,
        "depth": 1,
        "body_hash": url,
        "content_hash": json.dumps(fields, sort_keys=True)[:64],
        "is_item": True,
        "fields": json.dumps(fields),
        "links": "[]",
    }


def test_bad_times_are_stored_with_the_problem_and_changed_pages_rescored(
    tmp_path: Path, news_model: Path
) -> None:
    store = f"sqlite:///{tmp_path / 'm.db'}"
    crawl = Store(store)
    run = crawl.start_run("f", config="{}")
    good = {
        "headline": "Shares slump after profit warning",
        "body": "Q3 EPS misses",
        "published": "2026-12-01T10:00:00Z",
    }
    bad = {**good, "published": "yesterday"}
    crawl.write_pages(
        [_page("http://h/article/1", good, run), _page("http://h/article/2", bad, run)]
    )
    logs: list[str] = []
    monitor = Monitor(
        parse_monitor_config(monitor_mapping("http://h", news_model, store)), log=logs.append
    )
    assert monitor.score_new() == (1, 1)
    assert monitor.score_new() == (0, 0)  # nothing is scored twice
    rows = {r["url"]: r for r in monitor.db.article_rows()}
    assert rows["http://h/article/1"]["topic"]
    assert "'published' must be an ISO 8601 time" in rows["http://h/article/2"]["problem"]
    assert "http://h/article/2" in logs[0]
    changed = {**good, "headline": "Shares soar on record profit"}
    crawl.write_pages([_page("http://h/article/1", changed, run)])
    assert monitor.score_new() == (1, 0)
    assert {r["url"]: r["n_scored"] for r in monitor.db.article_rows()}["http://h/article/1"] == 2
    monitor.close()
    crawl.close()


def test_a_run_without_the_named_tasks_is_refused(tmp_path: Path, news_model: Path) -> None:
    raw = monitor_mapping("http://h", news_model, f"sqlite:///{tmp_path / 'm.db'}")
    raw["model"].update(
        sentiment_task="mood", negative_class="Gloomy", inputs={"words": "headline"}
    )
    with pytest.raises(ConfigError) as info:
        Monitor(parse_monitor_config(raw))
    text = str(info.value)
    assert "'model.sentiment_task': the run" in text
    assert "has no task 'mood'" in text
    assert "'model.inputs' must map each input of the model (text)" in text
    assert not (tmp_path / "m.db").exists()  # refused before the store is opened


def test_webhook_errors_are_reported(receiver: Receiver) -> None:
    assert post_webhook(receiver.url, {"a": 1}, timeout_s=5) is None
    receiver.status = 500
    assert post_webhook(receiver.url, {"a": 2}, timeout_s=5) == "HTTP 500"
    assert [p["json"] for p in receiver.posts] == [{"a": 1}, {"a": 2}]
    refused = post_webhook("http://127.0.0.1:9/hook", {}, timeout_s=2)
    assert refused is not None
    assert "URLError" in refused
