"""``--every 5m``: run cycles on a schedule until SIGINT or SIGTERM (the cycle in progress
finishes first, so nothing is left half-written)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from manyheads.monitor._cycle import Monitor

__all__ = ["run_every"]


def run_every(
    monitor: Monitor,
    every_s: float,
    *,
    log: Callable[[str], None],
    max_cycles: int | None = None,
) -> int:
    """Run a cycle every ``every_s`` seconds (counted from each cycle's start); return how many ran.

    SIGINT and SIGTERM stop the loop after the current cycle (or at once while it waits).
    """
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if not stop.is_set():
            log(f"monitor: {signal.Signals(signum).name} received; stopping after this cycle")
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    n = 0
    try:
        while not stop.is_set():
            started = time.monotonic()
            log(str(monitor.cycle()))
            n += 1
            if max_cycles is not None and n >= max_cycles:
                break
            stop.wait(max(0.0, every_s - (time.monotonic() - started)))
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    log(f"monitor: stopped after {n} cycle{'s' if n != 1 else ''}")
    return n
