"""The shared frontier of a distributed crawl: a queue with leases, workers, politeness (Redis).

Every key of one crawl starts with ``manyheads:<config fingerprint>:``; a run's keys add the run
id. What each holds (see docs/crawl.md, "Distributed crawling"):

- ``run``: the id of the run that workers join (the first worker opens it in the store);
- ``<run>:queue``: a sorted set of requests (JSON, :mod:`._redis_codec`), score -priority;
- ``<run>:seen``: the fingerprints of every request ever queued (scrapy-redis' dupefilter);
- ``<run>:workers``, ``<run>:alive:<w>``: the workers, each with a heartbeat key that expires;
- ``<run>:leases:<w>``: fingerprint -> request, what worker ``w`` popped and has not finished.
  A pop moves a request from the queue into its worker's leases in one script. A lease ends only
  once the page's row is committed to the store; when a worker's heartbeat expires (SIGKILL, a
  lost machine) any other worker moves its leases back to the queue;
- ``<run>:polite:next:<host>``, ``<run>:polite:active:<host>``: when the host may get its next
  request, and the requests in flight to it: the delay and concurrency hold across all workers;
- ``<run>:stats``: the workers' Scrapy stats, summed; ``<run>:pages``: requests handed out
  to all workers (``limits.max_pages`` holds for the run).

The scripts use a single Redis server (not Redis Cluster): they compute worker keys.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import redis

__all__ = ["LEASE_S", "Frontier", "connect"]

#: Seconds a worker's heartbeat lives; it is refreshed every ``LEASE_S / 5``.
LEASE_S = 5.0

# KEYS: queue, leases, pages; ARGV: the run's page budget (0: none). A request handed out
# counts against the budget in the same step, so that all workers together stop at it.
_POP = """
local m = redis.call('ZRANGE', KEYS[1], 0, 0)
if #m == 0 then return false end
local budget = tonumber(ARGV[1])
if budget > 0 and tonumber(redis.call('GET', KEYS[3]) or '0') >= budget then return false end
redis.call('INCR', KEYS[3])
redis.call('ZREM', KEYS[1], m[1])
redis.call('HSET', KEYS[2], cjson.decode(m[1]).fp, m[1])
return m[1]
"""
# KEYS: seen, queue, leases; ARGV: fingerprint, request, score, lease to end ('' for none),
# '1' to queue even when seen (dont_filter). Marks seen and queues in one step, so that a
# killed worker cannot leave a URL marked seen but never queued. Returns 1 if queued.
_ENQUEUE = """
local added = redis.call('SADD', KEYS[1], ARGV[1])
local queued = 0
if added == 1 or ARGV[5] == '1' then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
  queued = 1
end
if ARGV[4] ~= '' then redis.call('HDEL', KEYS[3], ARGV[4]) end
return queued
"""
_RECOVER = """
local n = 0
for _, w in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. 'alive:' .. w) == 0 then
    local lk = ARGV[1] .. 'leases:' .. w
    for _, m in ipairs(redis.call('HVALS', lk)) do
      redis.call('ZADD', KEYS[2], -cjson.decode(m).p, m)
      n = n + 1
    end
    redis.call('DEL', lk)
    redis.call('SREM', KEYS[1], w)
  end
end
return n
"""
_PENDING = """
local n = redis.call('ZCARD', KEYS[1])
for _, w in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  n = n + redis.call('HLEN', ARGV[1] .. 'leases:' .. w)
end
return n
"""
# KEYS: next-time, active; ARGV: delay ms, max in flight, token, token lifetime ms.
# Returns 0 (go) or the milliseconds to wait before asking again.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then return 20 end
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
if now < nxt then return nxt - now end
redis.call('SET', KEYS[1], now + tonumber(ARGV[1]), 'PX', 3600000)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
return 0
"""
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def connect(url: str) -> redis.Redis:
    """A Redis client for ``url`` (``redis://``, ``rediss://``, ``unix://``), strings decoded."""
    import redis

    client: redis.Redis = redis.Redis.from_url(
        url, decode_responses=True, socket_timeout=30, socket_connect_timeout=10
    )
    return client


class Frontier:
    """One crawl's keys in a Redis server, and the atomic operations on them.

    Args:
        client: a client from :func:`connect`.
        crawl: the crawl's config fingerprint (every key starts with ``manyheads:<crawl>:``).
        run_id: the run whose queue, leases and politeness keys are used.
        worker: this worker's id (unique across machines).

    Example:
        >>> frontier = Frontier(None, "abc", 3, worker="w1")  # no server needed to name keys
        >>> frontier.key("queue"), frontier.leases_key
        ('manyheads:abc:3:queue', 'manyheads:abc:3:leases:w1')
    """

    def __init__(
        self, client: redis.Redis, crawl: str, run_id: int | None = None, *, worker: str = ""
    ) -> None:
        self.client = client
        self.base = f"manyheads:{crawl}:"
        self.run_id = run_id
        self.worker = worker

    @property
    def prefix(self) -> str:
        """The prefix of the run's keys."""
        return f"{self.base}{self.run_id}:"

    def key(self, name: str) -> str:
        """The full name of one of the run's keys."""
        return self.prefix + name

    @property
    def leases_key(self) -> str:
        """This worker's leases (fingerprint -> request)."""
        return self.key(f"leases:{self.worker}")

    # ---- the run that workers join ----------------------------------------------------------

    def current_run(self) -> int | None:
        """The run id workers join, or None."""
        value = self.client.get(self.base + "run")
        return int(value) if value is not None else None

    def set_run(self, run_id: int) -> None:
        """Point joining workers at ``run_id``."""
        self.client.set(self.base + "run", str(run_id))
        self.run_id = run_id

    def lock(self, timeout_s: float = 60.0) -> str:
        """Take the crawl's lock (waiting for it); return the token for :meth:`unlock`."""
        token = secrets.token_hex(8)
        deadline = time.monotonic() + timeout_s
        while not self.client.set(self.base + "lock", token, nx=True, px=30_000):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the frontier lock {self.base}lock was held {timeout_s} s")
            time.sleep(0.05)
        return token

    def unlock(self, token: str) -> None:
        """Give the lock back (only if still ours)."""
        self.client.eval(_UNLOCK, 1, self.base + "lock", token)

    def clear_run(self) -> None:
        """Delete the run's keys and the pointer to it (the crawl finished)."""
        keys = list(self.client.scan_iter(match=self.prefix + "*", count=1000))
        if keys:
            self.client.delete(*keys)
        if self.client.get(self.base + "run") == str(self.run_id):
            self.client.delete(self.base + "run")

    # ---- the queue and leases -----------------------------------------------------------------

    def enqueue(
        self, fingerprint: str, member: str, priority: int, *, ends: str = "", force: bool = False
    ) -> bool:
        """Queue a request unless its fingerprint was seen (``force``: queue anyway).

        ``ends`` names a lease of this worker that the request continues (a redirect, a retry):
        that lease ends in the same step. Returns whether the request was queued.
        """
        keys = (self.key("seen"), self.key("queue"), self.leases_key)
        args = (fingerprint, member, -priority, ends, "1" if force else "0")
        return bool(self.client.eval(_ENQUEUE, 3, *keys, *args))

    def pop(self, budget: int = 0) -> str | None:
        """Move the next request into this worker's leases and return it, or None (none
        queued, or ``budget`` > 0 requests already handed out in the run)."""
        keys = (self.key("queue"), self.leases_key, self.key("pages"))
        value = self.client.eval(_POP, 3, *keys, budget)
        return str(value) if value else None

    def release(self, fingerprints: Iterable[str]) -> None:
        """End this worker's leases of ``fingerprints`` (their pages are committed)."""
        keys = list(fingerprints)
        if keys:
            self.client.hdel(self.leases_key, *keys)

    def requeue_own(self) -> int:
        """Move every lease of this worker back to the queue (a paused worker); their number."""
        pipe = self.client.pipeline(transaction=True)
        pipe.hvals(self.leases_key)
        pipe.delete(self.leases_key)
        members, _ = pipe.execute()
        for member in members:
            self.client.zadd(self.key("queue"), {member: -_priority(member)})
        return len(members)

    def queued(self) -> int:
        """Requests waiting in the queue."""
        return int(self.client.zcard(self.key("queue")))

    def leased(self) -> int:
        """Requests leased by this worker."""
        return int(self.client.hlen(self.leases_key))

    def pending(self) -> int:
        """Requests queued or leased by any worker (live or not yet recovered)."""
        args = (self.key("queue"), self.key("workers"), self.prefix)
        return int(self.client.eval(_PENDING, 2, *args))

    # ---- workers ------------------------------------------------------------------------------

    def heartbeat(self) -> None:
        """Register this worker and keep it alive for :data:`LEASE_S` seconds."""
        pipe = self.client.pipeline(transaction=False)
        pipe.sadd(self.key("workers"), self.worker)
        pipe.set(self.key(f"alive:{self.worker}"), "1", px=int(LEASE_S * 1000))
        pipe.execute()

    def leave(self) -> None:
        """Unregister this worker (its leases must be empty or requeued first)."""
        pipe = self.client.pipeline(transaction=True)
        pipe.srem(self.key("workers"), self.worker)
        pipe.delete(self.key(f"alive:{self.worker}"))
        pipe.execute()

    def recover(self) -> int:
        """Move the leases of workers whose heartbeat expired back to the queue; their number."""
        keys = (self.key("workers"), self.key("queue"))
        return int(self.client.eval(_RECOVER, 2, *keys, self.prefix))

    # ---- politeness across workers ----------------------------------------------------------

    def acquire(self, host: str, *, delay_s: float, concurrency: int, hold_s: float) -> str | float:
        """A token to send one request to ``host`` now, or the seconds to wait first.

        The host gets a request at most every ``delay_s`` and at most ``concurrency`` at once,
        over all workers. A token left by a killed worker expires after ``hold_s``.
        """
        token = secrets.token_hex(8)
        keys = (self.key(f"polite:next:{host}"), self.key(f"polite:active:{host}"))
        wait = int(
            self.client.eval(
                _ACQUIRE, 2, *keys, int(delay_s * 1000), concurrency, token, int(hold_s * 1000)
            )
        )
        return token if wait == 0 else wait / 1000.0

    def release_slot(self, host: str, token: str) -> None:
        """Free the in-flight slot a token held."""
        self.client.zrem(self.key(f"polite:active:{host}"), token)

    # ---- stats --------------------------------------------------------------------------------

    def add_stats(self, stats: dict[str, Any]) -> None:
        """Add a worker's numeric stats to the run's totals."""
        numbers = {k: v for k, v in stats.items() if isinstance(v, int) and not isinstance(v, bool)}
        if numbers:
            pipe = self.client.pipeline(transaction=True)
            for k, v in numbers.items():
                pipe.hincrby(self.key("stats"), k, v)
            pipe.execute()

    def pages(self) -> int:
        """Requests handed out to every worker of the run (``limits.max_pages``)."""
        return int(self.client.get(self.key("pages")) or 0)

    def stats(self) -> dict[str, int]:
        """The run's summed stats."""
        return {str(k): int(v) for k, v in self.client.hgetall(self.key("stats")).items()}


def _priority(member: str) -> int:
    import json

    return int(json.loads(member).get("p", 0))
