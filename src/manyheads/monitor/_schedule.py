"""``--every 5m``: run cycles on a schedule until SIGINT or SIGTERM (the cycle in progress
finishes first, so nothing is left half-written)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Protocol

from manyheads.errors import ManyheadsError

__all__ = ["run_every"]


class _Cycles(Protocol):
    """What the loop needs: a :class:`~manyheads.monitor.Monitor`, or a stand-in in tests."""

    def cycle(self) -> object: ...


def run_every(
    monitor: _Cycles,
    every_s: float,
    *,
    log: Callable[[str], None],
    max_cycles: int | None = None,
) -> int:
    """Run a cycle every ``every_s`` seconds (counted from each cycle's start); return how many ran.

    SIGINT and SIGTERM stop the loop after the current cycle (or at once while it waits). A
    cycle that fails on its input (the site is down, every start URL refused) is logged and
    the next one runs on schedule: a monitor outlives a source's outage.

    Example:
        >>> class Twice:
        ...     n = 0
        ...     def cycle(self) -> str:
        ...         self.n += 1
        ...         if self.n == 1:
        ...             raise ManyheadsError("the crawl failed: site down")
        ...         return "cycle ok"
        >>> run_every(Twice(), 0.01, log=print, max_cycles=2)
        monitor: cycle failed: the crawl failed: site down
        cycle ok
        monitor: stopped after 2 cycles
        2
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
            try:
                log(str(monitor.cycle()))
            except ManyheadsError as exc:
                log(f"monitor: cycle failed: {exc}")
            n += 1
            if max_cycles is not None and n >= max_cycles:
                break
            stop.wait(max(0.0, every_s - (time.monotonic() - started)))
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    log(f"monitor: stopped after {n} cycle{'s' if n != 1 else ''}")
    return n
