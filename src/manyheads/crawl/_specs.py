"""The crawl configuration as frozen dataclasses (read and checked by :mod:`._config`).

The keys are documented in ``docs/crawl.md``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

__all__ = [
    "EXTRACTORS",
    "FIELD_TYPES",
    "CrawlConfig",
    "FieldSpec",
    "FollowSpec",
    "ItemsSpec",
    "LimitsSpec",
    "PolitenessSpec",
    "RetrySpec",
    "SafetySpec",
    "StoreSpec",
]

FIELD_TYPES = ("str", "int", "float", "bool")
EXTRACTORS = ("main_text", "trafilatura")


@dataclass(frozen=True)
class FieldSpec:
    """How to read one field of an item page: exactly one of css, xpath, extract, url_regex."""

    name: str
    css: str | None = None
    xpath: str | None = None
    extract: str | None = None
    url_regex: str | None = None
    type: str = "str"
    all: bool = False


@dataclass(frozen=True)
class FollowSpec:
    """Which links to follow: regexes searched in the absolute URL, and the maximum depth;
    the feeds and sitemaps whose new or changed entries are fetched."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    max_depth: int = 0
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemsSpec:
    """Pages whose URL matches ``match`` become records with ``fields``."""

    match: str | None = None
    fields: tuple[FieldSpec, ...] = ()
    workers: int | None = None


@dataclass(frozen=True)
class StoreSpec:
    """Where records go (a SQLAlchemy URL) and what is kept."""

    url: str = "sqlite:///crawl.db"
    raw_html: bool = False
    near_duplicate_threshold: float = 0.9


@dataclass(frozen=True)
class LimitsSpec:
    """Hard limits: pages per run (0 = none), bytes per response, seconds per request."""

    max_pages: int = 0
    max_page_bytes: int = 5_000_000
    timeout_s: float = 30.0


@dataclass(frozen=True)
class PolitenessSpec:
    """robots.txt, throttling, concurrency, proxies and the user agent."""

    obey_robots: bool = True
    concurrency: int = 16
    concurrency_per_domain: int = 8
    autothrottle: bool = True
    autothrottle_target: float = 4.0
    delay_s: float = 0.0
    user_agent: str = "manyheads (+https://github.com/manyheads/manyheads)"
    proxies: tuple[str, ...] = ()


@dataclass(frozen=True)
class RetrySpec:
    """Retries with exponential back-off; a ``Retry-After`` header wins (capped)."""

    times: int = 2
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    max_retry_after_s: float = 120.0
    http_codes: tuple[int, ...] = (408, 429, 500, 502, 503, 504, 522, 524)


@dataclass(frozen=True)
class SafetySpec:
    """``allow_private`` lets a crawl reach loopback and private addresses."""

    allow_private: bool = False


@dataclass(frozen=True)
class CrawlConfig:
    """A whole crawl. Build it with :func:`load_config` or :func:`parse_config`."""

    start_urls: tuple[str, ...]
    allowed_domains: tuple[str, ...] = ()
    follow: FollowSpec = field(default_factory=FollowSpec)
    items: ItemsSpec = field(default_factory=ItemsSpec)
    store: StoreSpec = field(default_factory=StoreSpec)
    limits: LimitsSpec = field(default_factory=LimitsSpec)
    politeness: PolitenessSpec = field(default_factory=PolitenessSpec)
    retries: RetrySpec = field(default_factory=RetrySpec)
    safety: SafetySpec = field(default_factory=SafetySpec)
    jobdir: str | None = None
    frontier: str | None = None  # a Redis URL: the shared queue of a distributed crawl
    progress_s: float = 2.0
    log_level: str = "WARNING"

    @property
    def starts(self) -> tuple[str, ...]:
        """Where the crawl starts: the start URLs, then the feeds and sitemaps."""
        return self.start_urls + self.follow.feeds + self.follow.sitemaps

    def fingerprint(self) -> str:
        """A hash of what defines the crawl's frontier; a run resumes only under the same one."""
        keys = ("start_urls", "allowed_domains", "follow", "items", "store")
        data = {k: v for k, v in asdict(self).items() if k in keys}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]
