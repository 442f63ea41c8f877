"""Control charts on the negative share of one topic per time bucket (pure functions).

- ``pchart``: Shewhart's p-chart. A bucket with ``n`` articles is over its limit when its share
  ``x / n`` exceeds ``p0 + sigma * sqrt(p0 (1 - p0) / n)`` (Montgomery, *Introduction to
  Statistical Quality Control*, 7th ed., §7.2, eq. 7.8).
- ``ewma``: the EWMA chart of Roberts (1959) on the shares: ``z_t = λ p_t + (1 - λ) z_{t-1}``
  from ``z_0 = p0``, over its limit when ``z_t > p0 + sigma * sqrt(p0 (1 - p0) / n_t) *
  sqrt(λ / (2 - λ))`` (Montgomery §9.2, eq. 9.26, the asymptotic width).

``p0`` is the pooled share of the topic's last ``baseline_buckets`` in-control buckets,
smoothed as ``(x + 0.5) / (n + 1)`` so that a topic with no negative article yet still has a
finite limit. Buckets with fewer than ``min_count`` articles are not judged, and nothing is
judged before the topic has ``warmup_buckets`` buckets of history; unjudged buckets still
count in the baseline. An alert fires when ``hold``
consecutive judged buckets are over the limit, and not again for the topic within
``cooldown`` buckets. Buckets over the limit stay out of the baseline, so a spike does not
raise its own limit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from manyheads.monitor._specs import DetectSpec

__all__ = ["BucketCount", "Verdict", "detect"]


@dataclass(frozen=True)
class BucketCount:
    """The articles of one topic in one bucket (``bucket`` is the bucket's index in time)."""

    bucket: int
    n: int
    n_negative: int


@dataclass(frozen=True)
class Verdict:
    """What the chart says about one bucket.

    ``state`` is ``low_count`` (not judged), ``warmup`` (baseline only), ``ok``, ``over``
    (over the limit, no alert: hold or cooldown) or ``alert``.
    """

    bucket: int
    n: int
    n_negative: int
    share: float
    baseline: float | None
    limit: float | None
    statistic: float | None
    state: str


def detect(counts: Sequence[BucketCount], spec: DetectSpec) -> list[Verdict]:
    """Judge every bucket of one topic in time order.

    Example:
        >>> spec = DetectSpec(min_count=5, warmup_buckets=3, sigma=3.0)
        >>> series = [BucketCount(b, 20, 2) for b in range(6)] + [BucketCount(6, 20, 12)]
        >>> [v.state for v in detect(series, spec)]
        ['warmup', 'warmup', 'warmup', 'ok', 'ok', 'ok', 'alert']
    """
    history: list[tuple[int, int]] = []
    verdicts: list[Verdict] = []
    streak, quiet_until, z = 0, -math.inf, None
    lam = spec.ewma_lambda
    for c in sorted(counts, key=lambda c: c.bucket):
        share = c.n_negative / c.n if c.n else 0.0
        if c.n < spec.min_count or len(history) < spec.warmup_buckets:
            state = "low_count" if c.n < spec.min_count else "warmup"
            history.append((c.n, c.n_negative))  # not judged, but in-control data
            verdicts.append(Verdict(c.bucket, c.n, c.n_negative, share, None, None, None, state))
            continue
        window = history[-spec.baseline_buckets :]
        p0 = (sum(x for _, x in window) + 0.5) / (sum(n for n, _ in window) + 1)
        sd = math.sqrt(p0 * (1 - p0) / c.n)
        if spec.method == "ewma":
            z = lam * share + (1 - lam) * (p0 if z is None else z)
            statistic, limit = z, p0 + spec.sigma * sd * math.sqrt(lam / (2 - lam))
        else:
            statistic, limit = share, p0 + spec.sigma * sd
        over = statistic > limit
        streak = streak + 1 if over else 0
        if over and streak >= spec.hold and c.bucket > quiet_until:
            state, quiet_until = "alert", c.bucket + spec.cooldown
        else:
            state = "over" if over else "ok"
        if not over:
            history.append((c.n, c.n_negative))
        verdicts.append(Verdict(c.bucket, c.n, c.n_negative, share, p0, limit, statistic, state))
    return verdicts
