"""The monitor's configuration as frozen dataclasses (built by :mod:`._config`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["AlertSpec", "DetectSpec", "ModelSpec", "MonitorConfig"]


@dataclass(frozen=True)
class ModelSpec:
    """The trained run and how articles feed it."""

    run: str
    topic_task: str = "topic"
    sentiment_task: str = "sentiment"
    negative_class: str = "Bearish"
    inputs: tuple[tuple[str, str], ...] = (("text", "headline"),)
    topic_inputs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DetectSpec:
    """Per-topic detection on the negative share per time bucket."""

    bucket_s: float = 3600.0
    method: str = "pchart"
    min_count: int = 10
    warmup_buckets: int = 4
    baseline_buckets: int = 24
    sigma: float = 3.0
    ewma_lambda: float = 0.3
    hold: int = 1
    cooldown: int = 3


@dataclass(frozen=True)
class AlertSpec:
    """Where alerts go besides the log and the alert history table."""

    webhook: str | None = None
    timeout_s: float = 5.0
    top_headlines: int = 5


@dataclass(frozen=True)
class MonitorConfig:
    """A whole monitor. Build it with :func:`load_monitor_config`."""

    crawl: dict[str, Any]
    store: str
    model: ModelSpec
    detect: DetectSpec = field(default_factory=DetectSpec)
    alerts: AlertSpec = field(default_factory=AlertSpec)
    fields: tuple[tuple[str, str], ...] = (("headline", "headline"), ("published", "published"))
    dashboard: str | None = None
    every_s: float | None = None
