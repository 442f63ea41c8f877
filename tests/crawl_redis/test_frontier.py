"""The Redis frontier's atomic steps on a real redis-server: queue, leases, recovery, politeness."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawl_helpers.redis import redis_server, unavailable
from manyheads.crawl import _redis_codec
from manyheads.crawl._redis_frontier import Frontier, connect


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    try:
        with redis_server() as url:
            yield url
    except RuntimeError as exc:
        unavailable(str(exc))


def _member(fp: str, url: str, priority: int = 0) -> str:
    return _redis_codec.dumps({"fp": fp, "p": priority, "r": {"url": url, "body": b""}})


@pytest.fixture
def pair(redis_url: str, request: pytest.FixtureRequest) -> tuple[Frontier, Frontier]:
    client = connect(redis_url)
    crawl = request.node.name
    return Frontier(client, crawl, 1, worker="a"), Frontier(client, crawl, 1, worker="b")


def test_enqueue_marks_seen_once_and_pop_leases(pair: tuple[Frontier, Frontier]) -> None:
    a, b = pair
    assert a.enqueue("f1", _member("f1", "http://h/1"), 0)
    assert not b.enqueue("f1", _member("f1", "http://h/1"), 0)  # seen by another worker
    assert b.enqueue("f2", _member("f2", "http://h/2", priority=5), 5)
    first = a.pop()
    assert first is not None
    assert _redis_codec.loads(first)["fp"] == "f2"
    assert (a.queued(), a.leased(), b.leased(), a.pending()) == (1, 1, 0, 1)  # a: no heartbeat
    a.heartbeat()
    assert a.pending() == 2  # leased requests of registered workers count
    a.release(["f2"])
    assert (a.leased(), a.pending()) == (0, 1)


def test_forced_request_and_handover_end_the_lease(pair: tuple[Frontier, Frontier]) -> None:
    a, _ = pair
    a.enqueue("f1", _member("f1", "http://h/1"), 0)
    assert a.pop() is not None
    # a retry of the same request (dont_filter) replaces its lease by a queued copy
    assert a.enqueue("f1", _member("f1", "http://h/1"), 0, ends="f1", force=True)
    assert (a.leased(), a.queued()) == (0, 1)
    assert a.pop() is not None
    # a redirect to a URL already seen: nothing queued, the lease ends all the same
    assert not a.enqueue("f1", _member("f1", "http://h/1"), 0, ends="f1")
    assert (a.leased(), a.queued()) == (0, 0)


def test_dead_workers_leases_go_back_to_the_queue(pair: tuple[Frontier, Frontier]) -> None:
    a, b = pair
    for i in range(3):
        a.enqueue(f"f{i}", _member(f"f{i}", f"http://h/{i}"), 0)
    a.heartbeat()
    b.heartbeat()
    assert b.pop() is not None
    assert b.pop() is not None
    assert a.recover() == 0  # b is alive
    b.client.delete(b.key("alive:b"))  # b's heartbeat expires (a SIGKILL stops its beats)
    assert a.recover() == 2
    assert (a.queued(), b.leased(), a.pending()) == (3, 0, 3)
    assert b.client.smembers(b.key("workers")) == {"a"}


def test_requeue_own_and_clear_run(pair: tuple[Frontier, Frontier]) -> None:
    a, _ = pair
    a.enqueue("f1", _member("f1", "http://h/1", priority=2), 2)
    a.pop()
    assert a.requeue_own() == 1
    assert (a.leased(), a.queued()) == (0, 1)
    a.set_run(1)
    a.add_stats({"pages": 3, "reason": "x", "flag": True})
    assert a.stats() == {"pages": 3}
    a.clear_run()
    assert a.current_run() is None
    assert list(a.client.scan_iter(match=a.prefix + "*")) == []


def test_politeness_spaces_and_bounds_requests_over_workers(
    pair: tuple[Frontier, Frontier],
) -> None:
    a, b = pair
    token = a.acquire("h", delay_s=0.2, concurrency=1, hold_s=5)
    assert isinstance(token, str)
    wait = b.acquire("h", delay_s=0.2, concurrency=1, hold_s=5)
    assert wait == pytest.approx(0.02)  # concurrency 1 is taken: poll again soon
    a.release_slot("h", token)
    wait = b.acquire("h", delay_s=0.2, concurrency=1, hold_s=5)
    assert isinstance(wait, float)
    assert 0.1 < wait <= 0.2
    time.sleep(wait)
    assert isinstance(b.acquire("h", delay_s=0.2, concurrency=1, hold_s=5), str)
    # a token of a killed worker expires after hold_s
    time.sleep(0.2)
    assert isinstance(a.acquire("g", delay_s=0, concurrency=1, hold_s=0.05), str)
    time.sleep(0.1)
    assert isinstance(b.acquire("g", delay_s=0, concurrency=1, hold_s=5), str)


def test_lock_is_exclusive(pair: tuple[Frontier, Frontier]) -> None:
    a, b = pair
    token = a.lock()
    with pytest.raises(TimeoutError, match="lock"):
        b.lock(timeout_s=0.2)
    a.unlock(token)
    b.unlock(b.lock(timeout_s=1))
