"""Financial-news monitoring: crawl sources on a schedule, score new articles with a trained
topic + sentiment run, chart the negative share per topic and alert on spikes
(``manyheads monitor``). See ``docs/monitoring.md``.

Importing this package is cheap: the crawler, SQLAlchemy and torch load when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from manyheads.monitor._config import (
    AlertSpec,
    DetectSpec,
    ModelSpec,
    MonitorConfig,
    load_monitor_config,
    parse_monitor_config,
)
from manyheads.monitor._detect import BucketCount, Verdict, detect
from manyheads.monitor._replay import Article, Scenario, build_scenario
from manyheads.monitor._site import ReplaySite, SimClock, serve_replay

if TYPE_CHECKING:
    from manyheads.monitor._cycle import CycleReport, Monitor

__all__ = [
    "AlertSpec",
    "Article",
    "BucketCount",
    "CycleReport",
    "DetectSpec",
    "ModelSpec",
    "Monitor",
    "MonitorConfig",
    "ReplaySite",
    "Scenario",
    "SimClock",
    "Verdict",
    "build_scenario",
    "detect",
    "load_monitor_config",
    "parse_monitor_config",
    "serve_replay",
]


def __getattr__(name: str) -> object:
    """``Monitor`` and ``CycleReport`` load SQLAlchemy and torch: import them on first use."""
    if name in ("Monitor", "CycleReport"):
        from manyheads.monitor import _cycle

        return getattr(_cycle, name)
    raise AttributeError(f"module 'manyheads.monitor' has no attribute {name!r}")
