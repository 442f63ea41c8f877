"""Scrapy settings for a crawl config: Scrapy's own machinery, configured (see docs/crawl.md).

Component order follows Scrapy's convention (numbers; ``None`` disables). Our settings are
prefixed ``MANYHEADS_``.
"""

from __future__ import annotations

from typing import Any

from manyheads.crawl._specs import CrawlConfig

__all__ = ["build_settings"]

_PKG = "manyheads.crawl"


def build_settings(config: CrawlConfig, *, progress: bool = True) -> dict[str, Any]:
    """The Scrapy settings dict for ``config``.

    Example:
        >>> from manyheads.crawl._config import parse_config
        >>> s = build_settings(parse_config({"start_urls": ["http://127.0.0.1:8000/"]}))
        >>> s["ROBOTSTXT_OBEY"], s["DOWNLOAD_MAXSIZE"]
        (True, 5000000)
    """
    p, lim, r = config.politeness, config.limits, config.retries
    settings: dict[str, Any] = {
        "BOT_NAME": "manyheads",
        "USER_AGENT": p.user_agent,
        "ROBOTSTXT_OBEY": p.obey_robots,
        "ROBOTSTXT_USER_AGENT": p.user_agent,
        "CONCURRENT_REQUESTS": p.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": p.concurrency_per_domain,
        "DOWNLOAD_DELAY": p.delay_s,
        "DOWNLOAD_DELAY_JITTER": 0.5 if p.delay_s > 0 else 0.0,
        "AUTOTHROTTLE_ENABLED": p.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(p.delay_s, 0.25),
        "AUTOTHROTTLE_MAX_DELAY": 60.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": p.autothrottle_target,
        "DOWNLOAD_TIMEOUT": lim.timeout_s,
        "DOWNLOAD_MAXSIZE": lim.max_page_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "CLOSESPIDER_PAGECOUNT": lim.max_pages,
        "DEPTH_LIMIT": config.follow.max_depth,
        "DEPTH_STATS_VERBOSE": True,
        "RETRY_ENABLED": r.times > 0,
        "RETRY_TIMES": r.times,
        "RETRY_HTTP_CODES": list(r.http_codes),
        "REDIRECT_MAX_TIMES": 10,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": config.log_level,
        "LOGSTATS_INTERVAL": 0,
        "TWISTED_DNS_RESOLVER": f"{_PKG}._safety.SafeResolver",
        "DOWNLOADER_MIDDLEWARES": {
            f"{_PKG}._safety.SafetyMiddleware": 50,
            # Scrapy's, except that every request waiting for robots.txt gets its rules.
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            f"{_PKG}._distributed_robots.SharedRobotsTxtMiddleware": 100,
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
            f"{_PKG}._redirect.CheckedRedirectMiddleware": 600,
            "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
            f"{_PKG}._redirect.CheckedMetaRefreshMiddleware": 580,
            f"{_PKG}._retry.BackoffRetryMiddleware": 550,
            f"{_PKG}._recrawl.StoreAwareMiddleware": 560,
            f"{_PKG}._proxies.RotatingProxyMiddleware": 740 if p.proxies else None,
            # concurrency_per_domain as a hard limit (Scrapy 2.19 sends a slot's whole queue
            # at once when there is no delay)
            f"{_PKG}._distributed_hostlimit.HostLimitMiddleware": 950,
        },
        "SPIDER_MIDDLEWARES": {f"{_PKG}._failures.SpiderErrorMiddleware": 1000},
        "ITEM_PIPELINES": {f"{_PKG}._pipelines.StorePipeline": 300},
        "EXTENSIONS": {
            f"{_PKG}._progress.ProgressLine": 500,
            "scrapy.extensions.logstats.LogStats": None,
        },
        "MANYHEADS_ALLOWED_DOMAINS": list(config.allowed_domains),
        "MANYHEADS_ALLOW_PRIVATE": config.safety.allow_private,
        "MANYHEADS_PROXIES": list(p.proxies),
        "MANYHEADS_BACKOFF": r.backoff_s,
        "MANYHEADS_MAX_BACKOFF": r.max_backoff_s,
        "MANYHEADS_MAX_RETRY_AFTER": r.max_retry_after_s,
        "MANYHEADS_PROGRESS_S": config.progress_s if progress else 0.0,
    }
    if config.jobdir:
        settings["JOBDIR"] = config.jobdir
    return settings
