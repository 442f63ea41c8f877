"""Run a distributed crawl: workers on this machine (and others) share a Redis frontier.

``manyheads crawl crawl.yaml --workers N`` starts N worker processes here; with
``frontier: redis://...`` in the config, the same command on other machines joins the same crawl.
The first process to arrive opens the run in the store (a new one, or the unfinished one it
resumes) and points the frontier at it; the others join it. Each worker is a Scrapy crawler on
:class:`~._redis_scheduler.RedisScheduler`; the run is closed as ``finished`` (and its Redis
keys deleted) once nothing is queued or leased, else left ``paused`` to resume. See
``docs/crawl.md``, "Distributed crawling".
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import socket
import sys
import time
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from manyheads.crawl._redact import redact
from manyheads.crawl._redis_frontier import Frontier, connect
from manyheads.crawl._redis_health import (
    FRONTIER_LOST,
    FrontierLostError,
    frontier_timeout,
    lost_message,
)
from manyheads.crawl._runner import (
    CrawlSummary,
    _open_run,
    _refused_error,
    crawl_summary,
    settle_run,
    start_url_refusals,
)
from manyheads.crawl._specs import CrawlConfig
from manyheads.crawl._store import Store
from manyheads.crawl._urls import canonical_url
from manyheads.errors import ConfigError

if TYPE_CHECKING:
    import redis

__all__ = ["distributed_settings", "run_distributed", "run_worker"]

_PKG = "manyheads.crawl"


def distributed_settings(
    config: CrawlConfig, *, url: str, run_id: int, worker: str, progress: bool
) -> dict[str, Any]:
    """The Scrapy settings of one worker: the crawl's own, on the shared frontier.

    Example:
        >>> from manyheads.crawl import parse_config
        >>> config = parse_config({"start_urls": ["http://h/"], "politeness": {"delay_s": 0.5}})
        >>> s = distributed_settings(config, url="redis://r", run_id=1, worker="w", progress=False)
        >>> s["SCHEDULER"], s["DOWNLOAD_DELAY"], s["MANYHEADS_SHARED_DELAY"]
        ('manyheads.crawl._redis_scheduler.RedisScheduler', 0.0, 0.5)
    """
    from manyheads.crawl._settings import build_settings

    settings = build_settings(config, progress=progress)
    settings.pop("JOBDIR", None)
    settings.update(
        SCHEDULER=f"{_PKG}._redis_scheduler.RedisScheduler",
        # The delay holds across workers (SharedPolitenessMiddleware), not per process.
        DOWNLOAD_DELAY=0.0,
        DOWNLOAD_DELAY_JITTER=0.0,
        MANYHEADS_SHARED_DELAY=config.politeness.delay_s,
        MANYHEADS_FRONTIER_URL=url,
        MANYHEADS_FRONTIER_CRAWL=config.fingerprint(),
        MANYHEADS_FRONTIER_RUN=run_id,
        MANYHEADS_FRONTIER_WORKER=worker,
        # limits.max_pages holds for the run, counted in Redis (FrontierWorker), not per worker
        CLOSESPIDER_PAGECOUNT=0,
        MANYHEADS_MAX_PAGES=config.limits.max_pages,
    )
    middlewares = settings["DOWNLOADER_MIDDLEWARES"]
    middlewares[f"{_PKG}._distributed_hostlimit.HostLimitMiddleware"] = None  # Redis does it
    middlewares[f"{_PKG}._redis_politeness.SharedPolitenessMiddleware"] = 950
    settings["SPIDER_MIDDLEWARES"][f"{_PKG}._redis_worker.LeaseMiddleware"] = 10
    settings["EXTENSIONS"][f"{_PKG}._redis_worker.FrontierWorker"] = 100
    settings["ITEM_PIPELINES"] = {f"{_PKG}._redis_worker.FrontierStorePipeline": 300}
    return settings


def run_worker(
    config: CrawlConfig, url: str, run_id: int, *, resumed: bool, progress: bool
) -> dict[str, Any]:
    """Crawl as one worker of run ``run_id`` until the frontier is empty; Scrapy's stats."""
    from scrapy.crawler import CrawlerProcess

    from manyheads.crawl._redis_worker import worker_of
    from manyheads.crawl._spider import ConfigSpider
    from manyheads.crawl._state import CrawlState

    store = Store(config.store.url)
    worker = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
    state = CrawlState(config, store, run_id, resumed=resumed, known=store.known_pages())
    settings = distributed_settings(
        config, url=url, run_id=run_id, worker=worker, progress=progress
    )
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(ConfigSpider)
    process.crawl(crawler, crawl_state=state)
    process.start()
    store.close()
    stats = dict(crawler.stats.get_stats() if crawler.stats else {})
    if stats.get("finish_reason") == FRONTIER_LOST:
        lost = worker_of(crawler).health.lost
        raise FrontierLostError(str(lost), path=redact(url))
    return stats


#: The exit code of a worker process that lost the frontier.
_LOST_EXIT = 3


def _worker_main(config: CrawlConfig, url: str, run_id: int, resumed: bool) -> None:
    try:
        run_worker(config, url, run_id, resumed=resumed, progress=False)
    except FrontierLostError as exc:
        print(f"manyheads crawl: worker {os.getpid()}: error: {exc}", file=sys.stderr)
        sys.exit(_LOST_EXIT)


def _reach(url: str) -> redis.Redis:
    import redis

    client = connect(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise ConfigError(
            [
                f"'frontier': cannot reach the Redis server at {redact(url)} "
                f"({type(exc).__name__}: {redact(str(exc))}). Start it, or fix the URL."
            ]
        ) from None
    return client


def _join_run(config: CrawlConfig, frontier: Frontier) -> tuple[Store, int, bool]:
    """Open the store; the run the frontier points at if unfinished, else one opened now.

    Under the frontier's lock: two processes that start at once would both create the store's
    tables, or both open a run.
    """
    token = frontier.lock()
    try:
        store = Store(config.store.url)
        run_id, resumed = _pick_run(store, config, frontier)
        return store, run_id, resumed
    finally:
        frontier.unlock(token)


def _pick_run(store: Store, config: CrawlConfig, frontier: Frontier) -> tuple[int, bool]:
    current = frontier.current_run()
    if current is not None:
        status = {r["id"]: r["status"] for r in store.runs()}.get(current)
        frontier.run_id = current
        if status in ("running", "paused"):
            if status == "paused":
                store.reopen_run(current)
            return current, True
        frontier.clear_run()  # a finished run's leftovers
    run_id, resumed = _open_run(store, config)
    frontier.set_run(run_id)
    return run_id, resumed


def _spawn(config: CrawlConfig, url: str, run_id: int, resumed: bool, n: int) -> None:
    """Run ``n`` worker processes and wait for them (a Ctrl-C reaches them too).

    Raises:
        FrontierLostError: a worker gave the crawl up (the frontier stopped answering).
    """
    context = multiprocessing.get_context("spawn")
    procs = [
        context.Process(target=_worker_main, args=(config, url, run_id, resumed), daemon=False)
        for _ in range(n)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        while True:
            try:
                proc.join()
                break
            except KeyboardInterrupt:  # the workers got it too and are stopping
                continue
    if any(proc.exitcode == _LOST_EXIT for proc in procs):
        raise FrontierLostError(
            lost_message(frontier_timeout(), "see the workers' errors above"), path=redact(url)
        )


def run_distributed(
    config: CrawlConfig, *, workers: int = 1, progress: bool = True
) -> CrawlSummary:
    """Crawl with ``workers`` processes here on the config's frontier (a private one if none).

    Raises:
        ConfigError: ``jobdir`` is set, the frontier cannot be reached, or every start URL was
            refused (as :func:`~._runner.run_crawl`).
        ManyheadsError: no ``frontier`` and no ``redis-server`` to start a private one.
    """
    from manyheads.crawl._redis_server import private_redis

    if config.jobdir:
        raise ConfigError(
            [
                "'jobdir' cannot be used with --workers or 'frontier': a distributed crawl "
                "keeps its queue in Redis. Remove 'jobdir'."
            ]
        )
    refused = start_url_refusals(config)
    if len(refused) == len({canonical_url(u) for u in config.starts}):
        raise _refused_error(refused, config, crawled=False)
    server: AbstractContextManager[str] = (
        nullcontext(config.frontier) if config.frontier else private_redis()
    )
    with server as url:
        frontier = Frontier(_reach(url), config.fingerprint())
        store, run_id, resumed = _join_run(config, frontier)
        started = time.monotonic()
        try:
            if workers == 1:
                run_worker(config, url, run_id, resumed=resumed, progress=progress)
            else:
                _spawn(config, url, run_id, resumed, workers)
        except FrontierLostError as exc:  # the run can continue once Redis is back
            store.finish_run(run_id, status="paused", reason=FRONTIER_LOST, stats={})
            store.close()
            raise exc from None
        return _close_run(store, frontier, config, resumed, time.monotonic() - started)


def _close_run(
    store: Store, frontier: Frontier, config: CrawlConfig, resumed: bool, seconds: float
) -> CrawlSummary:
    """Record the run as finished (nothing left anywhere, or its page budget spent) or paused;
    the summary."""
    from manyheads.crawl._redis_worker import PAGE_BUDGET

    assert frontier.run_id is not None
    run_id = frontier.run_id
    frontier.recover()
    left = frontier.pending()
    stats: dict[str, Any] = dict(frontier.stats())
    status, reason = "finished", "finished"
    if config.limits.max_pages and frontier.pages() >= config.limits.max_pages:
        left, reason = 0, PAGE_BUDGET  # as a one-process crawl: finished at its page budget
    elif left:
        status, reason = "paused", f"{left} requests left in the frontier"
    status, reason, error = settle_run(store, config, run_id, status, reason, stats)
    if left == 0:
        frontier.clear_run()
    store.close()
    if error is not None:
        raise error
    return crawl_summary(run_id, resumed, status, reason, stats, seconds)
