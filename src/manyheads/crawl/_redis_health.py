"""Whether a distributed crawl's Redis frontier still answers, and what a worker does when not.

A Redis call that fails (the server stopped, the network dropped) is retried by the next tick,
beat or poll; when the frontier has answered nothing for ``MANYHEADS_FRONTIER_TIMEOUT`` seconds
(default 30) the worker gives the crawl up: it writes the rows it holds to the store, closes
with the reason :data:`FRONTIER_LOST` and ``manyheads crawl`` exits with code 2 and
:class:`FrontierLostError`, instead of waiting for a server that is gone. Nothing is lost: a
lease ends only once Redis has recorded it, so every request in flight or not yet queued stays
with a page whose lease Redis still holds, fetched again when the crawl continues.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from manyheads.crawl._redact import redact
from manyheads.errors import DataError, InvalidParameterError

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "FRONTIER_LOST",
    "FrontierHealth",
    "FrontierLostError",
    "frontier_timeout",
    "lost_message",
]

logger = logging.getLogger(__name__)

#: The close reason of a worker that gave the crawl up.
FRONTIER_LOST = "frontier_lost"
#: Seconds without an answer from Redis before a worker gives up (``MANYHEADS_FRONTIER_TIMEOUT``).
DEFAULT_TIMEOUT_S = 30.0
T = TypeVar("T")


class FrontierLostError(DataError):
    """The crawl's Redis frontier stopped answering; the crawl stopped (exit code 2)."""


def frontier_timeout() -> float:
    """``MANYHEADS_FRONTIER_TIMEOUT`` in seconds, or :data:`DEFAULT_TIMEOUT_S`.

    Raises:
        InvalidParameterError: not a number of seconds > 0.
    """
    raw = os.environ.get("MANYHEADS_FRONTIER_TIMEOUT", str(DEFAULT_TIMEOUT_S))
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise InvalidParameterError(
            "The environment variable MANYHEADS_FRONTIER_TIMEOUT must be a number of seconds "
            f"> 0. Got {raw!r} instead. Unset it (default {DEFAULT_TIMEOUT_S:g}) or set e.g. 60."
        )
    return seconds


def lost_message(timeout_s: float, error: str) -> str:
    """What a user reads when the frontier is lost (after the frontier's redacted URL).

    Example:
        >>> lost_message(30, "ConnectionError: refused")[:62]
        'the Redis frontier did not answer for 30 s (ConnectionError: r'
    """
    return (
        f"the Redis frontier did not answer for {timeout_s:g} s ({error}), so the crawl "
        "stopped. The pages stored so far are kept, and what was queued or in flight stays "
        "in Redis: restart the Redis server (with persistence, or its queue is gone) and run "
        "the same command to continue. MANYHEADS_FRONTIER_TIMEOUT sets the wait."
    )


class FrontierHealth:
    """The frontier's answers as one worker sees them (its threads share it).

    Args:
        timeout_s: seconds of failed calls, from the first, after which the frontier is lost.
        clock: the time source (``time.monotonic``).

    Example:
        >>> now = [0.0]
        >>> health = FrontierHealth(10, clock=lambda: now[0])
        >>> health.failed(ConnectionError("refused")), health.lost is None
        (False, True)
        >>> now[0] = 10.0
        >>> health.failed(ConnectionError("refused"))
        True
        >>> health.lost[:45]
        'the Redis frontier did not answer for 10 s (C'
    """

    def __init__(self, timeout_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout_s = timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failing_since: float | None = None
        #: Why the frontier is lost (the user's message), or None while it is not.
        self.lost: str | None = None

    def ok(self) -> None:
        """A call answered: the frontier is back (unless already given up)."""
        with self._lock:
            if self._failing_since is not None and self.lost is None:
                logger.warning("the Redis frontier answers again")
            self._failing_since = None

    def failed(self, exc: BaseException) -> bool:
        """Record a failed call; whether the frontier is now lost."""
        error = f"{type(exc).__name__}: {redact(str(exc))}"
        with self._lock:
            now = self._clock()
            if self._failing_since is None:
                self._failing_since = now
                logger.warning("the Redis frontier did not answer (%s); retrying", error)
            if self.lost is None and now - self._failing_since >= self.timeout_s:
                self.lost = lost_message(self.timeout_s, error)
                logger.error(
                    "giving the crawl up: no answer from the Redis frontier for %gs", self.timeout_s
                )
            return self.lost is not None

    def call(self, fn: Callable[[], T], default: T) -> T:
        """``fn()``, or ``default`` when Redis does not answer (recorded)."""
        import redis

        try:
            value = fn()
        except redis.RedisError as exc:
            self.failed(exc)
            return default
        self.ok()
        return value
