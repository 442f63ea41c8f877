"""Run one crawl in this process: open the store, start or resume the run, crawl, record it.

A Twisted reactor cannot restart, so a process runs one crawl; ``manyheads crawl`` and the tests
start a fresh process for each.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from manyheads.crawl._config import CrawlConfig
from manyheads.crawl._store import Store

__all__ = ["CrawlSummary", "run_crawl"]


@dataclass(frozen=True)
class CrawlSummary:
    """What a finished (or paused) crawl did."""

    run_id: int
    resumed: bool
    status: str
    finish_reason: str
    pages: int
    records: int
    unchanged: int
    failures: int
    seconds: float

    def __str__(self) -> str:
        verb = "resumed and " if self.resumed else ""
        return (
            f"crawl run {self.run_id} {verb}{self.status} ({self.finish_reason}): "
            f"{self.pages} pages, {self.records} records written, {self.unchanged} unchanged, "
            f"{self.failures} failures in {self.seconds:.1f} s"
        )


def _open_run(store: Store, config: CrawlConfig) -> tuple[int, bool]:
    fingerprint = config.fingerprint()
    unfinished = store.unfinished_run(fingerprint)
    jobdir = Path(config.jobdir) if config.jobdir else None
    if unfinished is not None:
        run_id, status = unfinished
        store.reopen_run(run_id)
        # A run left "running" was killed: Scrapy's JOBDIR state is not flushed on SIGKILL and
        # may hold requests marked seen but never fetched. The store is the truth; start over.
        if status == "running" and jobdir is not None and jobdir.exists():
            shutil.rmtree(jobdir)
        return run_id, True
    if jobdir is not None and jobdir.exists():
        shutil.rmtree(jobdir)
    return store.start_run(fingerprint, config=json.dumps(asdict(config), default=str)), False


def run_crawl(config: CrawlConfig, *, progress: bool = True) -> CrawlSummary:
    """Crawl ``config`` to the end (or until paused with one Ctrl-C when ``jobdir`` is set).

    Args:
        config: the crawl.
        progress: print a progress line on stderr.

    Returns:
        the run's summary; the same facts are in the store's ``crawl_runs`` table.
    """
    from scrapy.crawler import CrawlerProcess

    from manyheads.crawl._settings import build_settings
    from manyheads.crawl._spider import ConfigSpider
    from manyheads.crawl._state import CrawlState

    store = Store(config.store.url)
    run_id, resumed = _open_run(store, config)
    state = CrawlState(config, store, run_id, resumed=resumed, known=store.known_pages())
    process = CrawlerProcess(build_settings(config, progress=progress))
    crawler = process.create_crawler(ConfigSpider)
    started = time.monotonic()
    process.crawl(crawler, crawl_state=state)
    process.start()
    stats: dict[str, Any] = dict(crawler.stats.get_stats() if crawler.stats else {})
    reason = str(stats.get("finish_reason", "unknown"))
    status = "paused" if reason == "shutdown" else "finished"
    store.finish_run(run_id, status=status, reason=reason, stats=stats)
    store.close()
    return CrawlSummary(
        run_id=run_id,
        resumed=resumed,
        status=status,
        finish_reason=reason,
        pages=int(stats.get("response_received_count", 0)),
        records=int(stats.get("manyheads/records", 0)),
        unchanged=int(stats.get("manyheads/unchanged", 0)),
        failures=int(stats.get("manyheads/failures", 0)),
        seconds=time.monotonic() - started,
    )
