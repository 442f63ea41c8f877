"""The control charts against hand-computed limits, and their hold / cooldown / count rules."""

from __future__ import annotations

import math

import pytest

from manyheads.monitor import BucketCount, DetectSpec, detect


def _series(shares: list[tuple[int, int]]) -> list[BucketCount]:
    return [BucketCount(b, n, x) for b, (n, x) in enumerate(shares)]


def test_pchart_limit_is_the_textbook_one() -> None:
    spec = DetectSpec(min_count=5, warmup_buckets=2, sigma=3.0)
    verdicts = detect(_series([(20, 2), (20, 4), (25, 5)]), spec)
    p0 = (2 + 4 + 0.5) / (40 + 1)  # pooled, smoothed
    assert verdicts[2].baseline == pytest.approx(p0)
    assert verdicts[2].limit == pytest.approx(p0 + 3 * math.sqrt(p0 * (1 - p0) / 25))
    assert [v.state for v in verdicts] == ["warmup", "warmup", "ok"]


def test_spike_fires_at_its_first_bucket_and_stays_out_of_the_baseline() -> None:
    spec = DetectSpec(min_count=5, warmup_buckets=3, sigma=3.0, cooldown=0)
    counts = [(20, 3)] * 6 + [(20, 14), (20, 15)] + [(20, 3)] * 3
    verdicts = detect(_series(counts), spec)
    assert [v.bucket for v in verdicts if v.state == "alert"] == [6, 7]
    assert verdicts[7].baseline == pytest.approx(verdicts[6].baseline)  # spike not learned
    assert all(v.state == "ok" for v in verdicts[8:])


def test_hold_delays_and_cooldown_silences() -> None:
    counts = [(20, 3)] * 5 + [(20, 14)] * 4
    held = detect(_series(counts), DetectSpec(min_count=5, warmup_buckets=3, hold=2, cooldown=0))
    assert [v.bucket for v in held if v.state == "alert"] == [6, 7, 8]
    quiet = detect(_series(counts), DetectSpec(min_count=5, warmup_buckets=3, cooldown=2))
    assert [v.state for v in quiet[5:]] == ["alert", "over", "over", "alert"]


def test_small_buckets_are_not_judged_but_count_in_the_baseline() -> None:
    spec = DetectSpec(min_count=10, warmup_buckets=2)
    verdicts = detect(_series([(4, 0), (4, 0), (4, 4), (30, 3)]), spec)
    assert [v.state for v in verdicts] == ["low_count", "low_count", "low_count", "ok"]
    assert verdicts[3].baseline == pytest.approx((4 + 0.5) / (12 + 1))


def test_ewma_follows_roberts() -> None:
    spec = DetectSpec(method="ewma", ewma_lambda=0.5, min_count=5, warmup_buckets=2, sigma=3.0)
    verdicts = detect(_series([(20, 2), (20, 2), (20, 10), (20, 2)]), spec)
    p0 = (4 + 0.5) / 41
    z = 0.5 * 0.5 + 0.5 * p0
    width = 3 * math.sqrt(p0 * (1 - p0) / 20) * math.sqrt(0.5 / 1.5)
    assert verdicts[2].statistic == pytest.approx(z)
    assert verdicts[2].limit == pytest.approx(p0 + width)
    assert verdicts[2].state == "alert"
    assert verdicts[3].statistic == pytest.approx(0.5 * 0.1 + 0.5 * z)
