"""One monitoring cycle: crawl -> score -> aggregate and detect -> alert -> dashboard.

Each step reads what the previous ones stored, so a cycle run twice on the same site changes
nothing: the crawl finds every page unchanged, no page is left to score, the recomputed
buckets equal the stored ones, and an alert is recorded once per topic and bucket.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from manyheads.monitor._alerts import alert_line, alert_payload, post_webhook, top_headlines
from manyheads.monitor._buckets import bucket_rows
from manyheads.monitor._crawl_child import crawl_once
from manyheads.monitor._db import MonitorDB
from manyheads.monitor._model import load_model
from manyheads.monitor._scoring import article_rows, predict_articles
from manyheads.monitor._specs import MonitorConfig

__all__ = ["CycleReport", "Monitor", "bucket_rows", "crawl_once"]

#: Webhook attempts per alert before the monitor stops retrying it (the alert stays recorded).
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class CycleReport:
    """What one cycle did (also printed as one line)."""

    crawl: dict[str, Any]
    n_scored: int
    n_problems: int
    n_bucket_rows_written: int
    alerts: list[dict[str, Any]]
    seconds: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        times = ", ".join(f"{k} {v:.1f}" for k, v in self.seconds.items())
        problems = f" ({self.n_problems} with problems)" if self.n_problems else ""
        return (
            f"monitor cycle: {self.crawl.get('records', 0)} pages written, "
            f"{self.crawl.get('unchanged', 0)} unchanged, {self.n_scored} articles scored"
            f"{problems}, {self.n_bucket_rows_written} bucket rows updated, "
            f"{len(self.alerts)} new alerts; seconds: {times}"
        )


class Monitor:
    """Crawl, score, detect and alert, one cycle at a time.

    Args:
        config: the monitor (see :func:`~manyheads.monitor.load_monitor_config`).
        log: where progress and alert lines go (stderr by default).

    Raises:
        ConfigError: the model lacks a named task, input or negative class.
        DataError: the database or the dashboard path cannot be used.
    """

    def __init__(self, config: MonitorConfig, *, log: Callable[[str], None] | None = None) -> None:
        from manyheads.monitor._dashboard import check_dashboard_path

        self.config = config
        self.log = log or (lambda m: print(m, file=sys.stderr, flush=True))
        if config.dashboard:
            check_dashboard_path(Path(config.dashboard))
        self.run = load_model(config)
        self.db = MonitorDB(config.store)

    def close(self) -> None:
        """Release the database."""
        self.db.close()

    def cycle(self) -> CycleReport:
        """Run one cycle and return what it did."""
        seconds: dict[str, float] = {}
        started = time.perf_counter()
        summary = crawl_once(self.config.crawl)
        seconds["crawl"] = time.perf_counter() - started
        n_scored, n_problems = self.score_new()
        seconds["score"] = time.perf_counter() - started - sum(seconds.values())
        rows, fired = bucket_rows(self.db.scored_articles(), self.config)
        n_rows = self.db.sync_buckets(rows)
        seconds["detect"] = time.perf_counter() - started - sum(seconds.values())
        new_alerts = self.raise_alerts(fired)
        seconds["alert"] = time.perf_counter() - started - sum(seconds.values())
        if self.config.dashboard:
            from manyheads.monitor._dashboard import write_dashboard

            write_dashboard(self.db, self.config, Path(self.config.dashboard))
            seconds["dashboard"] = time.perf_counter() - started - sum(seconds.values())
        seconds["total"] = time.perf_counter() - started
        return CycleReport(summary, n_scored, n_problems, n_rows, new_alerts, seconds)

    # ---- steps --------------------------------------------------------------------------

    def score_new(self) -> tuple[int, int]:
        """Score the item pages not scored yet (or changed); return (scored, with problems)."""
        todo = self.db.pages_to_score()
        if not todo:
            return 0, 0
        rows, good = article_rows(todo, dict(self.config.fields))
        if good:
            fields = [todo[i][2] for i in good]
            predict_articles(self.run, self.config.model, fields, [rows[i] for i in good])
        self.db.write_articles(rows)
        n_problems = len(rows) - len(good)
        if n_problems:
            first = next(r for r in rows if r["problem"])
            self.log(
                f"monitor: {n_problems} articles not scored, e.g. {first['url']}: "
                f"{first['problem']}"
            )
        return len(good), n_problems

    def raise_alerts(self, fired: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Record the buckets that fired; post and log the new ones; retry failed posts."""
        new = self._record_alerts(fired)
        self._deliver_alerts()
        return new

    def _record_alerts(self, fired: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Store each fired bucket's alert once; log and return the payloads stored now."""
        spec = self.config
        new: list[dict[str, Any]] = []
        scored: list[dict[str, Any]] | None = None
        for row in fired:
            if scored is None:
                scored = self.db.scored_articles()
            payload = alert_payload(row, spec.detect, top_headlines(scored, row, spec))
            record = {k: row[k] for k in ("topic", "bucket_start", "share", "baseline", "limit")}
            record.update(count=row["n"], n_negative=row["n_negative"], payload=json.dumps(payload))
            if self.db.add_alert(record):
                self.log(f"monitor: {alert_line(payload)}")
                new.append(payload)
        return new

    def _deliver_alerts(self) -> None:
        """Post the undelivered alerts to the webhook (at most ``MAX_ATTEMPTS`` tries each)."""
        alerts = self.config.alerts
        for alert in self.db.alert_rows(undelivered=True):
            if alerts.webhook is None:
                self.db.mark_delivery(alert["id"], None)
            elif alert["attempts"] < MAX_ATTEMPTS:
                error = post_webhook(
                    alerts.webhook, json.loads(alert["payload"]), timeout_s=alerts.timeout_s
                )
                self.db.mark_delivery(alert["id"], error)
                if error is not None:
                    self.log(f"monitor: webhook for alert {alert['id']} failed: {error}")
