"""One monitoring cycle: crawl -> score -> aggregate and detect -> alert -> dashboard.

Each step reads what the previous ones stored, so a cycle run twice on the same site changes
nothing: the crawl finds every page unchanged, no page is left to score, the recomputed
buckets equal the stored ones, and an alert is recorded once per topic and bucket.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from manyheads.errors import ConfigError, ManyheadsError
from manyheads.monitor._alerts import alert_line, alert_payload, post_webhook
from manyheads.monitor._config import MonitorConfig
from manyheads.monitor._db import MonitorDB
from manyheads.monitor._detect import BucketCount, detect

if TYPE_CHECKING:
    from manyheads.workflow._run import Run

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


def crawl_once(crawl: dict[str, Any]) -> dict[str, Any]:
    """Run the crawl in a child process (Twisted's reactor runs once per process).

    Raises:
        ManyheadsError: the crawl refused its input (the child's message) or failed.
    """
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, "-m", "manyheads.monitor._crawl_child"],
        input=json.dumps(crawl),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip()[-2000:] or f"exit code {proc.returncode}"
        raise ManyheadsError(f"the crawl failed: {tail}")
    summary: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return summary


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def bucket_rows(
    scored: list[dict[str, Any]], config: MonitorConfig
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``monitor_buckets`` rows of every topic, and the buckets whose state is ``alert``.

    A bucket is judged once it is closed: an article published at or after its end has been
    seen (the watermark). The newest, still open bucket is stored with the state ``open``.
    """
    spec = config.detect
    width = spec.bucket_s
    counts: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    watermark = -math.inf
    for article in scored:
        ts = article["published_at"].timestamp()
        watermark = max(watermark, ts)
        cell = counts[str(article["topic"])][math.floor(ts / width)]
        cell[0] += 1
        cell[1] += int(bool(article["negative"]))
    rows: list[dict[str, Any]] = []
    fired: list[dict[str, Any]] = []
    for topic in sorted(counts):
        closed = [
            BucketCount(b, n, x)
            for b, (n, x) in counts[topic].items()
            if (b + 1) * width <= watermark
        ]
        for v in detect(closed, spec):
            row = _row(topic, v.bucket, width, v.n, v.n_negative, v.state)
            row.update(baseline=v.baseline, limit=v.limit, statistic=v.statistic)
            rows.append(row)
            if v.state == "alert":
                fired.append(row)
        for b, (n, x) in counts[topic].items():
            if (b + 1) * width > watermark:
                rows.append(_row(topic, b, width, n, x, "open"))
    return rows, fired


def _row(topic: str, bucket: int, width: float, n: int, x: int, state: str) -> dict[str, Any]:
    start = datetime.fromtimestamp(bucket * width, UTC)
    return {
        "topic": topic,
        "bucket_start": start,
        "n": n,
        "n_negative": x,
        "share": x / n,
        "baseline": None,
        "limit": None,
        "statistic": None,
        "state": state,
    }


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
        self.run = _load_model(config)
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
        names = dict(self.config.fields)
        rows: list[dict[str, Any]] = []
        good: list[int] = []
        for i, (url, content_hash, fields) in enumerate(todo):
            published = _parse_time(fields.get(names["published"]))
            headline = fields.get(names["headline"])
            problem = None
            if published is None:
                got = fields.get(names["published"])
                problem = (
                    f"field {names['published']!r} must be an ISO 8601 time such as "
                    f"2026-12-06T10:00:00Z; got {got!r}. Fix the crawl's field selector."
                )
            else:
                good.append(i)
            rows.append(
                {
                    "url": url,
                    "content_hash": content_hash,
                    "problem": problem,
                    "headline": None if headline is None else str(headline),
                    "published_at": published,
                    "topic": None,
                    "topic_proba": None,
                    "sentiment": None,
                    "sentiment_proba": None,
                    "negative": None,
                }
            )
        if good:
            self._predict([todo[i][2] for i in good], [rows[i] for i in good])
        self.db.write_articles(rows)
        n_problems = len(rows) - len(good)
        if n_problems:
            first = next(r for r in rows if r["problem"])
            self.log(
                f"monitor: {n_problems} articles not scored, e.g. {first['url']}: "
                f"{first['problem']}"
            )
        return len(good), n_problems

    def _predict(self, fields: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
        import pandas as pd

        spec = self.config.model

        def frame(inputs: tuple[tuple[str, str], ...]) -> pd.DataFrame:
            return pd.DataFrame(
                {
                    col: ["" if f.get(src) is None else str(f.get(src)) for f in fields]
                    for col, src in inputs
                }
            )

        out = self.run.predict(frame(spec.inputs))
        topics = self.run.predict(frame(spec.topic_inputs)) if spec.topic_inputs else out
        t, s = spec.topic_task, spec.sentiment_task
        for i, row in enumerate(rows):
            row["topic"] = str(topics[t].iloc[i])
            row["topic_proba"] = float(topics[f"{t}_proba"].iloc[i])
            row["sentiment"] = str(out[s].iloc[i])
            row["sentiment_proba"] = float(out[f"{s}_proba"].iloc[i])
            row["negative"] = row["sentiment"] == spec.negative_class

    def raise_alerts(self, fired: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Record the buckets that fired; post and log the new ones; retry failed posts."""
        spec = self.config
        new: list[dict[str, Any]] = []
        scored: list[dict[str, Any]] | None = None
        for row in fired:
            if scored is None:
                scored = self.db.scored_articles()
            payload = alert_payload(
                topic=row["topic"],
                bucket_start=row["bucket_start"],
                bucket_s=spec.detect.bucket_s,
                share=row["share"],
                baseline=row["baseline"],
                limit=row["limit"],
                count=row["n"],
                n_negative=row["n_negative"],
                method=spec.detect.method,
                headlines=_top_headlines(scored, row, spec),
            )
            record = {k: row[k] for k in ("topic", "bucket_start", "share", "baseline", "limit")}
            record.update(count=row["n"], n_negative=row["n_negative"], payload=json.dumps(payload))
            if self.db.add_alert(record):
                self.log(f"monitor: {alert_line(payload)}")
                new.append(payload)
        for alert in self.db.alert_rows(undelivered=True):
            if spec.alerts.webhook is None:
                self.db.mark_delivery(alert["id"], None)
            elif alert["attempts"] < MAX_ATTEMPTS:
                error = post_webhook(
                    spec.alerts.webhook,
                    json.loads(alert["payload"]),
                    timeout_s=spec.alerts.timeout_s,
                )
                self.db.mark_delivery(alert["id"], error)
                if error is not None:
                    self.log(f"monitor: webhook for alert {alert['id']} failed: {error}")
        return new


def _top_headlines(
    scored: list[dict[str, Any]], row: dict[str, Any], config: MonitorConfig
) -> list[dict[str, Any]]:
    """The bucket's negative articles in the topic, most confidently negative first."""
    start = row["bucket_start"]
    end = start.timestamp() + config.detect.bucket_s
    hits = [
        a
        for a in scored
        if a["negative"]
        and str(a["topic"]) == row["topic"]
        and start.timestamp() <= a["published_at"].timestamp() < end
    ]
    hits.sort(key=lambda a: (-float(a["sentiment_proba"] or 0), a["url"]))
    return [
        {
            "headline": a["headline"],
            "url": a["url"],
            "published": a["published_at"].isoformat(),
            "sentiment_proba": round(float(a["sentiment_proba"] or 0), 4),
        }
        for a in hits[: config.alerts.top_headlines]
    ]


def _load_model(config: MonitorConfig) -> Run:
    """Load the run and check that it has the named tasks, inputs and negative class."""
    from manyheads.workflow._run import load

    spec = config.model
    run = load(spec.run)
    tasks = {t.name: t for t in run.fitted_tasks}
    problems = []
    for key in ("topic_task", "sentiment_task"):
        name = getattr(spec, key)
        if name not in tasks:
            problems.append(
                f"'model.{key}': the run {spec.run!r} has no task {name!r}; its tasks are "
                f"{', '.join(tasks)}."
            )
    sentiment = tasks.get(spec.sentiment_task)
    classes = [str(c) for c in (sentiment.state.get("classes") or [])] if sentiment else []
    if sentiment is not None and classes and spec.negative_class not in classes:
        problems.append(
            f"'model.negative_class': {spec.negative_class!r} is not a class of the task "
            f"{spec.sentiment_task!r}; its classes are {', '.join(classes)}."
        )
    wanted = set(run.preprocessor.inputs)
    for key in ("inputs", "topic_inputs"):
        given = {c for c, _ in getattr(spec, key)}
        if given and given != wanted:
            problems.append(
                f"'model.{key}' must map each input of the model ({', '.join(sorted(wanted))}) "
                f"to an article field, e.g. {{{sorted(wanted)[0]}: headline}}. Got "
                f"{', '.join(sorted(given)) or 'nothing'}."
            )
    if problems:
        raise ConfigError(problems)
    return run
