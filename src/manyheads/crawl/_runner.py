"""Run one crawl in this process: open the store, start or resume the run, crawl, record it.

A Twisted reactor cannot restart, so a process runs one crawl; ``manyheads crawl`` and the tests
start a fresh process for each.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from manyheads.crawl._redact import RedactingFilter, redact
from manyheads.crawl._specs import CrawlConfig
from manyheads.crawl._store import Store
from manyheads.crawl._urls import canonical_url
from manyheads.errors import ConfigError

__all__ = [
    "JOBDIR_MARKER",
    "SCRAPY_JOB_FILES",
    "CrawlSummary",
    "check_jobdir",
    "run_crawl",
    "start_url_refusals",
]


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


#: The file that marks a folder as a job directory manyheads created (see docs/crawl.md).
JOBDIR_MARKER = ".manyheads-jobdir"
#: What Scrapy writes into a JOBDIR (``scrapy.utils.job``, the scheduler, ``SpiderState``).
SCRAPY_JOB_FILES = ("requests.queue", "requests.seen", "spider.state")


def check_jobdir(jobdir: Path) -> None:
    """Refuse a ``jobdir`` that holds anything but a job directory's files.

    A new crawl deletes the previous job's files, so the folder must be new, empty, or hold only
    what Scrapy and manyheads write there (:data:`SCRAPY_JOB_FILES`, :data:`JOBDIR_MARKER`).

    Raises:
        ConfigError: ``jobdir`` is a file, or holds other files (which are left untouched).

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> check_jobdir(folder)  # empty: fine
        >>> _ = (folder / "thesis.tex").write_text("mine")
        >>> check_jobdir(folder)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        manyheads.errors.ConfigError: 1 problem in the configuration:
          - 'jobdir': '...' holds files that are not a crawl job's (thesis.tex). ...
    """
    if not jobdir.exists():
        return
    if not jobdir.is_dir():
        raise ConfigError(
            [
                f"'jobdir': {str(jobdir)!r} is a file, not a directory. Name a new folder, "
                "e.g. jobdir: crawl-job (manyheads creates it)."
            ]
        )
    foreign = sorted(p.name for p in jobdir.iterdir() if p.name not in _JOB_ENTRIES)
    if foreign:
        shown = ", ".join(foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        )
        raise ConfigError(
            [
                f"'jobdir': {str(jobdir)!r} holds files that are not a crawl job's ({shown}). "
                "A new crawl clears its job directory, so manyheads uses only a new or empty "
                "folder, or one it created. Nothing was deleted. Name a new folder, e.g. "
                "jobdir: crawl-job."
            ]
        )


_JOB_ENTRIES = frozenset((*SCRAPY_JOB_FILES, JOBDIR_MARKER))


def _clear_jobdir(jobdir: Path) -> None:
    """Delete the previous job's files (only those; :func:`check_jobdir` ran first)."""
    for name in SCRAPY_JOB_FILES:
        path = jobdir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def _mark_jobdir(jobdir: Path) -> None:
    jobdir.mkdir(parents=True, exist_ok=True)
    marker = jobdir / JOBDIR_MARKER
    if not marker.exists():
        marker.write_text(
            "manyheads crawl job directory (Scrapy JOBDIR). A new crawl deletes the job files "
            f"here ({', '.join(SCRAPY_JOB_FILES)}) and nothing else.\n"
        )


def start_url_refusals(config: CrawlConfig) -> dict[str, str]:
    """Start URLs that the crawl would refuse before sending a byte, with the reason.

    Checks what needs no request: the host against ``allowed_domains``, and (unless
    ``safety.allow_private``) whether it resolves to a non-public address.

    Example:
        >>> from manyheads.crawl import parse_config
        >>> urls = ["http://10.0.0.1/", "http://93.184.216.34/", "http://b.org/"]
        >>> domains = ["10.0.0.1", "93.184.216.34"]
        >>> config = parse_config({"start_urls": urls, "allowed_domains": domains})
        >>> for url, reason in start_url_refusals(config).items():
        ...     print(url, reason[:60])
        http://10.0.0.1/ refused: '10.0.0.1' resolves to the private or loopback addr
        http://b.org/ refused: host 'b.org' is not in allowed_domains (10.0.0.1, 9
    """
    from manyheads.crawl._safety import private_reason
    from manyheads.crawl._urls import SCHEMES, canonical_url, host_allowed, split_host

    refused: dict[str, str] = {}
    for url in config.starts:
        scheme, host = split_host(url)
        if scheme not in SCHEMES:
            refused[url] = f"refused: scheme {scheme!r} (only http and https are crawled)"
        elif not host_allowed(host, config.allowed_domains):
            refused[url] = (
                f"refused: host {host!r} is not in allowed_domains "
                f"({', '.join(config.allowed_domains)}); add it there"
            )
        elif not config.safety.allow_private and host is not None:
            reason = private_reason(host)
            if reason is not None:
                refused[url] = reason
    return {canonical_url(u): r for u, r in refused.items()}


def _start_keys(config: CrawlConfig) -> dict[str, str]:
    """Each start point's canonical URL -> the config key that names it."""
    from manyheads.crawl._urls import canonical_url

    keys = {canonical_url(u): "follow.sitemaps" for u in config.follow.sitemaps}
    keys.update({canonical_url(u): "follow.feeds" for u in config.follow.feeds})
    keys.update({canonical_url(u): "start_urls" for u in config.start_urls})
    return keys


def _refused_error(reasons: dict[str, str], config: CrawlConfig, *, crawled: bool) -> ConfigError:
    """One problem per start point (start URL, feed or sitemap) with its reason and its key;
    the last one says what happened."""
    when = "nothing was crawled" if crawled else "nothing was requested and no store was written"
    keys = _start_keys(config)
    lines = [f"'{keys.get(url, 'start_urls')}': {url}: {reason}" for url, reason in reasons.items()]
    lines[-1] += (
        f". Every start URL was refused, so {when}; fix the URLs, allowed_domains, "
        "safety.allow_private or the robots.txt rules named above."
    )
    return ConfigError([redact(line) for line in lines])


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
            _clear_jobdir(jobdir)
        if jobdir is not None:
            _mark_jobdir(jobdir)
        return run_id, True
    if jobdir is not None:
        if jobdir.exists():
            _clear_jobdir(jobdir)
        _mark_jobdir(jobdir)
    return store.start_run(fingerprint, config=json.dumps(asdict(config), default=str)), False


def run_crawl(config: CrawlConfig, *, progress: bool = True) -> CrawlSummary:
    """Crawl ``config`` to the end (or until paused with one Ctrl-C when ``jobdir`` is set).

    Args:
        config: the crawl.
        progress: print a progress line on stderr.

    Returns:
        the run's summary; the same facts are in the store's ``crawl_runs`` table.

    Raises:
        ConfigError: ``jobdir`` holds files that are not a crawl job's; or every start URL was
            refused (before the crawl when no request is needed to know it: no store is
            written then; after it for robots.txt, redirects and failed requests: the run is
            stored as ``failed`` with the failures).
        DataError: the store cannot be opened, or is an existing file that is not a crawl store.
    """
    # Everything that can be refused without a request is refused before a file is written.
    if config.jobdir:
        check_jobdir(Path(config.jobdir))
    refused = start_url_refusals(config)
    if len(refused) == len({canonical_url(u) for u in config.starts}):
        raise _refused_error(refused, config, crawled=False)
    store = Store(config.store.url)

    from scrapy.crawler import CrawlerProcess

    from manyheads.crawl._settings import build_settings
    from manyheads.crawl._spider import ConfigSpider
    from manyheads.crawl._state import CrawlState

    run_id, resumed = _open_run(store, config)
    state = CrawlState(config, store, run_id, resumed=resumed, known=store.known_pages())
    process = CrawlerProcess(build_settings(config, progress=progress))
    # Scrapy logs its settings (proxies) and requests: its handlers print them redacted.
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
    crawler = process.create_crawler(ConfigSpider)
    started = time.monotonic()
    process.crawl(crawler, crawl_state=state)
    process.start()
    stats: dict[str, Any] = dict(crawler.stats.get_stats() if crawler.stats else {})
    reason = str(stats.get("finish_reason", "unknown"))
    status = "paused" if reason == "shutdown" else "finished"
    status, reason, error = settle_run(store, config, run_id, status, reason, stats)
    store.close()
    if error is not None:
        raise error
    return crawl_summary(run_id, resumed, status, reason, stats, time.monotonic() - started)


def settle_run(
    store: Store, config: CrawlConfig, run_id: int, status: str, reason: str, stats: dict[str, Any]
) -> tuple[str, str, ConfigError | None]:
    """Record the run's end in ``store``: a finished run whose every start point was refused
    is ``failed``. Returns the final status and reason, and the error to raise once the store
    is closed (None when something was fetched)."""
    starts = list(dict.fromkeys(canonical_url(u) for u in config.starts))
    fetched, failed = store.outcomes(run_id, starts)
    refused = None
    if status == "finished" and not fetched and set(failed) == set(starts):
        status, reason = "failed", "every start URL refused"
        refused = _refused_error({u: failed[u] for u in starts}, config, crawled=True)
    store.finish_run(run_id, status=status, reason=reason, stats=stats)
    return status, reason, refused


def crawl_summary(
    run_id: int, resumed: bool, status: str, reason: str, stats: dict[str, Any], seconds: float
) -> CrawlSummary:
    """What a crawl reports, from Scrapy's stats (summed over the workers when several)."""
    return CrawlSummary(
        run_id=run_id,
        resumed=resumed,
        status=status,
        finish_reason=reason,
        pages=int(stats.get("response_received_count", 0)),
        records=int(stats.get("manyheads/records", 0)),
        unchanged=int(stats.get("manyheads/unchanged", 0)),
        failures=int(stats.get("manyheads/failures", 0)),
        seconds=seconds,
    )
