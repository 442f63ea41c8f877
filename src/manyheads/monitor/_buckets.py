"""Scored articles -> the ``monitor_buckets`` rows of every topic, and the buckets that fired."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from manyheads.monitor._detect import BucketCount, detect

if TYPE_CHECKING:
    from manyheads.monitor._specs import MonitorConfig

__all__ = ["bucket_rows"]


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
