"""The crawl configuration: YAML -> validated, frozen dataclasses (every problem reported at once).

The keys are documented in ``docs/crawl.md``; unknown keys get a "did you mean" hint.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from manyheads._registry import did_you_mean
from manyheads.crawl._redact import redact
from manyheads.errors import ConfigError

__all__ = [
    "STORE_EXTENSIONS",
    "CrawlConfig",
    "FieldSpec",
    "FollowSpec",
    "ItemsSpec",
    "LimitsSpec",
    "PolitenessSpec",
    "RetrySpec",
    "SafetySpec",
    "StoreSpec",
    "load_config",
    "parse_config",
    "store_url_problem",
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
    """Which links to follow: regexes searched in the absolute URL, and the maximum depth."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    max_depth: int = 0


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
    progress_s: float = 2.0
    log_level: str = "WARNING"

    def fingerprint(self) -> str:
        """A hash of what defines the crawl's frontier; a run resumes only under the same one."""
        keys = ("start_urls", "allowed_domains", "follow", "items", "store")
        data = {k: v for k, v in asdict(self).items() if k in keys}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


# ---- validation ---------------------------------------------------------------------------


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: object) -> bool:
    return (isinstance(v, int | float)) and not isinstance(v, bool)


_Check = tuple[Callable[[object], bool], str]
_INT0: _Check = (lambda v: _is_int(v) and int(str(v)) >= 0, "an int >= 0")
_INT1: _Check = (lambda v: _is_int(v) and int(str(v)) >= 1, "an int >= 1")
_POS: _Check = (lambda v: _is_num(v) and float(str(v)) > 0, "a number > 0")
_NONNEG: _Check = (lambda v: _is_num(v) and float(str(v)) >= 0, "a number >= 0")
_BOOL: _Check = (lambda v: isinstance(v, bool), "true or false")
_STR: _Check = (lambda v: isinstance(v, str) and v != "", "a non-empty string")
_STRS: _Check = (
    lambda v: isinstance(v, list) and all(isinstance(x, str) and x for x in v),
    "a list of non-empty strings",
)
_FRACTION: _Check = (lambda v: _is_num(v) and 0 < float(str(v)) <= 1, "a number in (0, 1]")
_CODES: _Check = (
    lambda v: isinstance(v, list) and all(_is_int(x) and 100 <= x <= 599 for x in v),
    "a list of HTTP status codes",
)

_SECTIONS: dict[str, dict[str, _Check]] = {
    "follow": {"allow": _STRS, "deny": _STRS, "max_depth": _INT0},
    "limits": {"max_pages": _INT0, "max_page_bytes": _INT1, "timeout_s": _POS},
    "politeness": {
        "obey_robots": _BOOL,
        "concurrency": _INT1,
        "concurrency_per_domain": _INT1,
        "autothrottle": _BOOL,
        "autothrottle_target": _POS,
        "delay_s": _NONNEG,
        "user_agent": _STR,
        "proxies": _STRS,
    },
    "retries": {
        "times": _INT0,
        "backoff_s": _NONNEG,
        "max_backoff_s": _NONNEG,
        "max_retry_after_s": _NONNEG,
        "http_codes": _CODES,
    },
    "safety": {"allow_private": _BOOL},
    "store": {"url": _STR, "raw_html": _BOOL, "near_duplicate_threshold": _FRACTION},
}
_TOP = (
    "start_urls",
    "allowed_domains",
    "follow",
    "items",
    "store",
    "limits",
    "politeness",
    "retries",
    "safety",
    "jobdir",
    "progress_s",
    "log_level",
)
_FIELD_KEYS = ("css", "xpath", "extract", "url_regex", "type", "all")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _unknown(where: str, key: str, valid: tuple[str, ...] | list[str]) -> str:
    return (
        f"{where}: unknown key '{key}'. Valid keys: {', '.join(valid)}."
        f"{did_you_mean(key, list(valid))}"
    )


def _check_regex(where: str, pattern: str, problems: list[str]) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        problems.append(f"{where}: invalid regular expression {pattern!r} ({exc}).")


def _check_selector(where: str, css: object, xpath: object, problems: list[str]) -> None:
    """Run a CSS or XPath selector on an empty page, to report bad ones before crawling."""
    from parsel import Selector

    page = Selector(text="<html><body></body></html>")
    try:
        if isinstance(css, str):
            page.css(css)
        if isinstance(xpath, str):
            page.xpath(xpath)
    except Exception as exc:  # cssselect and lxml raise several error types
        kind = "css" if isinstance(css, str) else "xpath"
        problems.append(f"{where}.{kind} is not a valid selector ({exc}).")


def _section(name: str, raw: object, problems: list[str]) -> dict[str, Any]:
    """Check one flat section; return the valid values (lists become tuples)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.append(f"'{name}' must be a mapping. Got {type(raw).__name__}: {raw!r}.")
        return {}
    checks = _SECTIONS[name]
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in checks:
            problems.append(_unknown(f"'{name}'", str(key), list(checks)))
            continue
        ok, expected = checks[key]
        if not ok(value):
            problems.append(f"'{name}.{key}' must be {expected}. Got {value!r}.")
            continue
        out[key] = tuple(value) if isinstance(value, list) else value
    return out


def _field(name: str, raw: object, problems: list[str]) -> FieldSpec | None:
    where = f"'items.fields.{name}'"
    if not isinstance(raw, Mapping):
        problems.append(f"{where} must be a mapping such as {{css: 'h1::text'}}. Got {raw!r}.")
        return None
    n_before = len(problems)
    for key in raw:
        if key not in _FIELD_KEYS:
            problems.append(_unknown(where, str(key), _FIELD_KEYS))
    sources = [k for k in ("css", "xpath", "extract", "url_regex") if k in raw]
    if len(sources) != 1:
        problems.append(
            f"{where} needs exactly one of css, xpath, extract, url_regex. Got {sources or 'none'}."
        )
    for key in sources:
        if not isinstance(raw[key], str) or not raw[key]:
            problems.append(f"{where}.{key} must be a non-empty string. Got {raw[key]!r}.")
    if isinstance(raw.get("extract"), str) and raw["extract"] not in EXTRACTORS:
        problems.append(
            f"{where}.extract must be one of {', '.join(EXTRACTORS)}. Got {raw['extract']!r}."
            f"{did_you_mean(raw['extract'], list(EXTRACTORS))}"
        )
    if isinstance(raw.get("url_regex"), str):
        _check_regex(f"{where}.url_regex", raw["url_regex"], problems)
    if isinstance(raw.get("css"), str) or isinstance(raw.get("xpath"), str):
        _check_selector(where, raw.get("css"), raw.get("xpath"), problems)
    if raw.get("type", "str") not in FIELD_TYPES:
        problems.append(
            f"{where}.type must be one of {', '.join(FIELD_TYPES)}. Got {raw.get('type')!r}."
            f"{did_you_mean(str(raw.get('type')), list(FIELD_TYPES))}"
        )
    if "all" in raw and not isinstance(raw["all"], bool):
        problems.append(f"{where}.all must be true or false. Got {raw['all']!r}.")
    if len(problems) > n_before:
        return None
    return FieldSpec(name=name, **{k: raw[k] for k in raw})


def _items(raw: object, problems: list[str]) -> ItemsSpec:
    if raw is None:
        return ItemsSpec()
    if not isinstance(raw, Mapping):
        problems.append(f"'items' must be a mapping. Got {raw!r}.")
        return ItemsSpec()
    for key in raw:
        if key not in ("match", "fields", "workers"):
            problems.append(_unknown("'items'", str(key), ["match", "fields", "workers"]))
    match = raw.get("match")
    if match is not None and not (isinstance(match, str) and match):
        problems.append(f"'items.match' must be a regular expression string. Got {match!r}.")
        match = None
    if isinstance(match, str):
        _check_regex("'items.match'", match, problems)
    workers = raw.get("workers")
    if workers is not None and not (_is_int(workers) and workers >= 0):
        problems.append(f"'items.workers' must be an int >= 0. Got {workers!r}.")
        workers = None
    fields_raw = raw.get("fields") or {}
    if not isinstance(fields_raw, Mapping):
        problems.append(f"'items.fields' must be a mapping of name -> spec. Got {fields_raw!r}.")
        fields_raw = {}
    specs = [_field(str(n), spec, problems) for n, spec in fields_raw.items()]
    return ItemsSpec(match=match, fields=tuple(s for s in specs if s is not None), workers=workers)


#: File extensions that make a bare path a SQLite store (``crawl.db`` -> ``sqlite:///crawl.db``).
STORE_EXTENSIONS = (".db", ".sqlite", ".sqlite3")
_STORE_BACKENDS = ("sqlite", "postgresql", "postgres")
_STORE_FORMS = (
    "a SQLAlchemy URL (sqlite:///path/to/crawl.db, postgresql://user@host/db, "
    "postgresql+psycopg://user@host:5432/db) or a path ending in " + ", ".join(STORE_EXTENSIONS)
)


def store_url_problem(url: str) -> str | None:
    """Why ``url`` is not a crawl store address, or None when it is one.

    Accepted: ``sqlite:///PATH`` (or ``sqlite://`` in memory), ``postgresql://...``,
    ``postgres://...`` and ``postgresql+DRIVER://...``, or a bare path ending in one of
    :data:`STORE_EXTENSIONS`. Anything else would silently become a SQLite file of that name.

    Example:
        >>> store_url_problem("sqlite:///crawl.db") is None, store_url_problem("c.sqlite") is None
        (True, True)
        >>> print(store_url_problem("not a url at all"))  # doctest: +ELLIPSIS
        'store.url' must be a SQLAlchemy URL (sqlite:///path/to/crawl.db, ... .db, .sqlite, ...
    """
    bad = f"'store.url' must be {_STORE_FORMS}. Got {url!r}."
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*)://", url)
    if scheme is None:
        if "://" in url or not url.lower().endswith(STORE_EXTENSIONS) or url.strip() != url:
            return bad
        return None
    backend = scheme.group(1).split("+")[0].lower()
    if backend not in _STORE_BACKENDS:
        return (
            f"'store.url' uses the database {backend!r}; a crawl store is SQLite or "
            f"PostgreSQL: {_STORE_FORMS}. Got {url!r}."
        )
    if backend == "sqlite" and not (
        url.startswith(f"{scheme.group(1)}:///") or url.endswith("://")
    ):
        return (
            f"'store.url': a SQLite URL has three slashes before a relative path and four "
            f"before an absolute one (sqlite:///crawl.db, sqlite:////data/crawl.db). Got {url!r}."
        )
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
    except (ArgumentError, ValueError) as exc:
        return f"'store.url' is not a valid SQLAlchemy URL ({exc}): {_STORE_FORMS}. Got {url!r}."
    return None


def _start(raw: Mapping[str, Any], problems: list[str]) -> tuple[str, ...]:
    urls = raw.get("start_urls")
    if isinstance(urls, str):
        urls = [urls]
    if not (isinstance(urls, list) and urls and all(isinstance(u, str) for u in urls)):
        problems.append(f"'start_urls' must be a non-empty list of URLs. Got {urls!r}.")
        return ()
    for url in urls:
        if not re.match(r"^https?://[^/\s]+", url):
            problems.append(f"'start_urls': {url!r} is not an http:// or https:// URL.")
    return tuple(urls)


def parse_config(raw: object, *, source: str | None = None) -> CrawlConfig:
    """Validate a parsed YAML mapping and build a :class:`CrawlConfig`.

    Args:
        raw: the mapping read from YAML.
        source: the file it came from, for error messages.

    Raises:
        ConfigError: listing every problem found.

    Example:
        >>> cfg = parse_config({"start_urls": ["http://127.0.0.1/"], "limits": {"max_pages": 5}})
        >>> cfg.limits.max_pages, cfg.politeness.obey_robots
        (5, True)
        >>> try:
        ...     parse_config({"start_urls": ["http://x/"], "folow": {}, "limits": {"timeout_s": 0}})
        ... except ConfigError as exc:
        ...     for problem in exc.problems:
        ...         print(problem)  # doctest: +ELLIPSIS
        unknown top-level key 'folow'. Valid keys: start_urls, ... Did you mean 'follow'?
        'limits.timeout_s' must be a number > 0. Got 0.
    """
    problems: list[str] = []
    if not isinstance(raw, Mapping):
        raise ConfigError([f"the crawl config must be a mapping. Got {raw!r}."], source=source)
    for key in raw:
        if key not in _TOP:
            problems.append(
                f"unknown top-level key '{key}'. Valid keys: {', '.join(_TOP)}."
                f"{did_you_mean(str(key), list(_TOP))}"
            )
    start = _start(raw, problems)
    domains = raw.get("allowed_domains") or []
    if not _STRS[0](domains):
        problems.append(f"'allowed_domains' must be a list of host names. Got {domains!r}.")
        domains = []
    store_raw = raw.get("store")
    if isinstance(store_raw, str):
        store_raw = {"url": store_raw}
    sections = {n: _section(n, raw.get(n), problems) for n in _SECTIONS if n != "store"}
    store = _section("store", store_raw, problems)
    if isinstance(store.get("url"), str):
        problem = store_url_problem(store["url"])
        if problem is not None:
            problems.append(problem)
    for i, pattern in enumerate(
        sections["follow"].get("allow", ()) + sections["follow"].get("deny", ())
    ):
        _check_regex(f"'follow' pattern {i}", pattern, problems)
    items = _items(raw.get("items"), problems)
    extra = _top_scalars(raw, problems)
    if problems:
        raise ConfigError([redact(p) for p in problems], source=source)
    return CrawlConfig(
        start_urls=start,
        allowed_domains=tuple(d.lower() for d in domains),
        follow=FollowSpec(**sections["follow"]),
        items=items,
        store=StoreSpec(**store),
        limits=LimitsSpec(**sections["limits"]),
        politeness=PolitenessSpec(**sections["politeness"]),
        retries=RetrySpec(**sections["retries"]),
        safety=SafetySpec(**sections["safety"]),
        **extra,
    )


def _top_scalars(raw: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    jobdir = raw.get("jobdir")
    if jobdir is not None and not (isinstance(jobdir, str) and jobdir):
        problems.append(f"'jobdir' must be a directory path or null. Got {jobdir!r}.")
    elif jobdir is not None:
        out["jobdir"] = jobdir
    if "progress_s" in raw:
        if not _NONNEG[0](raw["progress_s"]):
            problems.append(f"'progress_s' must be a number >= 0. Got {raw['progress_s']!r}.")
        else:
            out["progress_s"] = float(raw["progress_s"])
    if "log_level" in raw:
        level = str(raw["log_level"]).upper()
        if level not in _LOG_LEVELS:
            problems.append(f"'log_level' must be one of {', '.join(_LOG_LEVELS)}. Got {level!r}.")
        else:
            out["log_level"] = level
    return out


def _set_dotted(data: dict[str, Any], dotted: str, value: object) -> None:
    node = data
    parts = dotted.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if isinstance(child, str) and part == "store":
            child = {"url": child}
        if not isinstance(child, dict):
            child = {}
        node[part] = child
        node = child
    node[parts[-1]] = value


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> CrawlConfig:
    """Read a crawl YAML file, apply ``key.sub=value`` overrides (values parsed as YAML), validate.

    Precedence: defaults < file < overrides.

    Raises:
        ConfigError: a missing or unreadable file, bad YAML, or any invalid key/value.
    """
    from manyheads.config._yaml import read_yaml_file, yaml_value

    path = Path(path)
    data = read_yaml_file(path, what="crawl config")
    data = dict(data) if isinstance(data, Mapping) else data
    problems = []
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            problems.append(f"override {item!r} must look like key.sub=value.")
            continue
        try:
            parsed = yaml_value(value, override=item)
        except ConfigError as exc:  # reported with the file's other problems
            problems.extend(exc.problems)
            continue
        if isinstance(data, dict):
            _set_dotted(data, key, parsed)
    if problems:
        raise ConfigError([redact(p) for p in problems], source=str(path))
    return parse_config(data, source=str(path))
