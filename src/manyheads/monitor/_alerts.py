"""Alerts: the JSON payload and its headlines, the webhook POST and the log line."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from manyheads.monitor._specs import DetectSpec, MonitorConfig

__all__ = ["alert_line", "alert_payload", "post_webhook", "top_headlines"]


def alert_payload(
    row: dict[str, Any], detect: DetectSpec, headlines: list[dict[str, Any]]
) -> dict[str, Any]:
    """The JSON body a webhook receives for the alert of one fired bucket.

    Args:
        row: the bucket's ``monitor_buckets`` row (topic, bucket_start, share, baseline, limit,
            n, n_negative).
        detect: the detection that fired (its bucket width and method).
        headlines: the bucket's top negative headlines (:func:`top_headlines`).

    Example:
        >>> from datetime import UTC, datetime
        >>> from manyheads.monitor import DetectSpec
        >>> row = {"topic": "Earnings", "bucket_start": datetime(2026, 1, 1, tzinfo=UTC),
        ...     "share": 0.6, "baseline": 0.15, "limit": 0.4, "n": 10, "n_negative": 6}
        >>> p = alert_payload(row, DetectSpec(bucket_s=3600, method="pchart"), headlines=[])
        >>> p["bucket"], p["bucket_end"], p["share"], p["count"], p["negative"]
        ('2026-01-01T00:00:00+00:00', '2026-01-01T01:00:00+00:00', 0.6, 10, 6)
    """
    from datetime import timedelta

    bucket_start: datetime = row["bucket_start"]
    return {
        "event": "negative_share_alert",
        "topic": row["topic"],
        "bucket": bucket_start.isoformat(),
        "bucket_end": (bucket_start + timedelta(seconds=detect.bucket_s)).isoformat(),
        "share": round(row["share"], 6),
        "baseline": round(row["baseline"], 6),
        "limit": round(row["limit"], 6),
        "count": row["n"],
        "negative": row["n_negative"],
        "method": detect.method,
        "headlines": headlines,
    }


def top_headlines(
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


def alert_line(payload: dict[str, Any]) -> str:
    """The log line of an alert.

    Example:
        >>> print(alert_line({"topic": "Earnings", "bucket": "2026-01-01T00:00:00+00:00",
        ...     "share": 0.6, "baseline": 0.15, "limit": 0.4, "count": 10, "negative": 6}))
        ... # doctest: +NORMALIZE_WHITESPACE
        ALERT topic='Earnings' bucket=2026-01-01T00:00:00+00:00 negative share 0.600 (6/10)
        > limit 0.400 (baseline 0.150)
    """
    return (
        f"ALERT topic={payload['topic']!r} bucket={payload['bucket']} negative share "
        f"{payload['share']:.3f} ({payload['negative']}/{payload['count']}) > limit "
        f"{payload['limit']:.3f} (baseline {payload['baseline']:.3f})"
    )


def post_webhook(url: str, payload: dict[str, Any], *, timeout_s: float) -> str | None:
    """POST ``payload`` as JSON; None when the receiver answered 2xx, else the error."""
    body = json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{type(exc).__name__}: {reason}"
    return None if 200 <= status < 300 else f"HTTP {status}"
