"""The crawl configuration: YAML -> checked, frozen dataclasses (every problem reported at once).

The keys are documented in ``docs/crawl.md``; what each accepts is declared in
:mod:`._config_rules`, the dataclasses are in :mod:`._specs`, the store addresses in
:mod:`._store_url`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from manyheads._registry import did_you_mean
from manyheads.crawl._config_rules import (
    SECTIONS,
    TOP,
    check_frontier,
    check_regex,
    read_items,
    read_section,
    read_start_urls,
    read_top_scalars,
)
from manyheads.crawl._overrides import read_with_overrides
from manyheads.crawl._redact import redact
from manyheads.crawl._specs import (
    CrawlConfig,
    FollowSpec,
    LimitsSpec,
    PolitenessSpec,
    RetrySpec,
    SafetySpec,
    StoreSpec,
)
from manyheads.crawl._store_url import store_url_problem
from manyheads.errors import ConfigError

__all__ = ["load_config", "parse_config"]


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
        The 'limits.timeout_s' option of the crawl config must be a float > 0. Got 0 instead.
    """
    problems: list[str] = []
    if not isinstance(raw, Mapping):
        raise ConfigError([f"the crawl config must be a mapping. Got {raw!r}."], source=source)
    for key in raw:
        if key not in TOP:
            problems.append(
                f"unknown top-level key '{key}'. Valid keys: {', '.join(TOP)}."
                f"{did_you_mean(str(key), list(TOP))}"
            )
    start = read_start_urls(raw, problems)
    store_raw = raw.get("store")
    if isinstance(store_raw, str):
        store_raw = {"url": store_raw}
    sections = {n: read_section(n, raw.get(n), problems) for n in SECTIONS if n != "store"}
    store = read_section("store", store_raw, problems)
    if isinstance(store.get("url"), str):
        problem = store_url_problem(store["url"])
        if problem is not None:
            problems.append(problem)
    follow = sections["follow"]
    for i, pattern in enumerate(follow.get("allow", ()) + follow.get("deny", ())):
        check_regex(f"follow pattern {i}", pattern, problems)
    items = read_items(raw.get("items"), problems)
    extra = read_top_scalars(raw, problems)
    check_frontier(extra, problems)
    if problems:
        raise ConfigError([redact(p) for p in problems], source=source)
    return CrawlConfig(
        start_urls=start,
        follow=FollowSpec(**follow),
        items=items,
        store=StoreSpec(**store),
        limits=LimitsSpec(**sections["limits"]),
        politeness=PolitenessSpec(**sections["politeness"]),
        retries=RetrySpec(**sections["retries"]),
        safety=SafetySpec(**sections["safety"]),
        **extra,
    )


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
    path = Path(path)
    data, problems = read_with_overrides(
        path, overrides, what="crawl config", set_dotted=_set_dotted
    )
    if problems:
        raise ConfigError([redact(p) for p in problems], source=str(path))
    return parse_config(data, source=str(path))
