"""What each key of the crawl config accepts, and the readers that check a parsed YAML mapping.

Each key's allowed values are declared with the constraints of :mod:`manyheads._validation` and
checked by its one function, so every message has the one form ("The 'limits.timeout_s' option
of the crawl config must be a float > 0. Got 0 instead."). The keys are documented in
``docs/crawl.md``; an unknown key gets a "did you mean" hint. Each reader appends every problem
it finds to ``problems`` and returns what is valid, so that :func:`~._config.parse_config`
reports them all at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from manyheads._registry import did_you_mean
from manyheads._validation import (
    COUNT,
    NON_NEGATIVE,
    NON_NEGATIVE_INT,
    POSITIVE,
    STRINGS,
    Boolean,
    Constraints,
    InstanceOf,
    Interval,
    SequenceOf,
    StrOptions,
    Text,
    option_message,
    valid_values,
    validate_params,
)
from manyheads.crawl._specs import EXTRACTORS, FIELD_TYPES, FieldSpec, ItemsSpec
from manyheads.crawl._store_url import CONFIG_OWNER

__all__ = [
    "SECTIONS",
    "TOP",
    "check_frontier",
    "check_regex",
    "read_items",
    "read_section",
    "read_start_urls",
    "read_top_scalars",
]

_MAPPING = InstanceOf(dict, "a mapping")

#: The flat sections: key -> its allowed values.
SECTIONS: dict[str, Constraints] = {
    "follow": {
        "allow": [STRINGS],
        "deny": [STRINGS],
        "max_depth": [NON_NEGATIVE_INT],
        "feeds": [STRINGS],
        "sitemaps": [STRINGS],
    },
    "limits": {"max_pages": [NON_NEGATIVE_INT], "max_page_bytes": [COUNT], "timeout_s": [POSITIVE]},
    "politeness": {
        "obey_robots": [Boolean()],
        "concurrency": [COUNT],
        "concurrency_per_domain": [COUNT],
        "autothrottle": [Boolean()],
        "autothrottle_target": [POSITIVE],
        "delay_s": [NON_NEGATIVE],
        "user_agent": [Text()],
        "proxies": [STRINGS],
    },
    "retries": {
        "times": [NON_NEGATIVE_INT],
        "backoff_s": [NON_NEGATIVE],
        "max_backoff_s": [NON_NEGATIVE],
        "max_retry_after_s": [NON_NEGATIVE],
        "http_codes": [SequenceOf(Interval(int, 100, 599, closed="both"))],
    },
    "safety": {"allow_private": [Boolean()]},
    "store": {
        "url": [Text()],
        "raw_html": [Boolean()],
        "near_duplicate_threshold": [Interval(float, 0, 1, closed="right")],
    },
}
#: The top-level keys that hold one value.
_SCALARS: Constraints = {
    "allowed_domains": [STRINGS, None],
    "jobdir": [Text("a directory path"), None],
    "frontier": [Text("a Redis URL (redis://host:6379/0, rediss://..., unix:///path.sock)"), None],
    "progress_s": [NON_NEGATIVE],
    "log_level": [StrOptions(("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))],
}
TOP = (
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
    "frontier",
    "progress_s",
    "log_level",
)
_ITEMS: Constraints = {
    "match": [Text(), None],
    "fields": [InstanceOf(dict, "a mapping of name -> spec"), None],
    "workers": [NON_NEGATIVE_INT, None],
}
_SOURCES = ("css", "xpath", "extract", "url_regex")
_FIELD: Constraints = {
    "css": [Text()],
    "xpath": [Text()],
    "extract": [StrOptions(EXTRACTORS)],
    "url_regex": [Text()],
    "type": [StrOptions(FIELD_TYPES)],
    "all": [Boolean()],
}


def _problem(key: str, expected: str, value: object, fix: str = "") -> str:
    return option_message(CONFIG_OWNER, key, expected, value, fix)


def _check(
    where: str, constraints: Constraints, raw: Mapping[str, Any], problems: list[str]
) -> bool:
    """Check the keys of ``raw``, the mapping at ``where``; True if none has a problem."""
    n_before = len(problems)
    valid = list(constraints)
    for key in raw:
        if key not in constraints:
            problems.append(
                f"'{where}': unknown key '{key}'. Valid keys: {', '.join(valid)}."
                f"{did_you_mean(str(key), valid)}"
            )
    named = {f"{where}.{key}": forms for key, forms in constraints.items()}
    values = {f"{where}.{key}": value for key, value in raw.items()}
    validate_params(CONFIG_OWNER, named, values, problems=problems)
    return len(problems) == n_before


def _mapping(where: str, raw: object, problems: list[str], example: str = "") -> bool:
    """True if ``raw`` is a mapping, else a problem."""
    if isinstance(raw, Mapping):
        return True
    problems.append(_problem(where, f"a mapping{example}", raw))
    return False


def check_regex(where: str, pattern: str, problems: list[str]) -> None:
    """Append a problem if ``pattern`` is not a regular expression."""
    try:
        re.compile(pattern)
    except re.error as exc:
        problems.append(_problem(where, "a valid regular expression", pattern, f"({exc})."))


def check_frontier(values: dict[str, Any], problems: list[str]) -> None:
    """``frontier`` must be a Redis URL, and excludes ``jobdir`` (the queue lives in Redis)."""
    url = values.get("frontier")
    if url is None:
        return
    if not re.match(r"^(redis|rediss|unix)://\S+$", url):
        expected = "a Redis URL (redis://host:6379/0, rediss://host:6380/0, unix:///path.sock)"
        problems.append(_problem("frontier", expected, url))
    if values.get("jobdir") is not None:
        problems.append(
            "'jobdir' and 'frontier' exclude each other: a distributed crawl keeps its queue "
            "in Redis, so there is no job directory to resume from. Remove 'jobdir'."
        )


def _check_selectors(where: str, raw: Mapping[str, Any], problems: list[str]) -> None:
    """Run the CSS or XPath selector on an empty page, to report a bad one before crawling."""
    from parsel import Selector

    page = Selector(text="<html><body></body></html>")
    for kind, name, run in (("css", "CSS", page.css), ("xpath", "XPath", page.xpath)):
        if isinstance(raw.get(kind), str):
            try:
                run(raw[kind])
            except Exception as exc:  # cssselect and lxml raise several error types
                expected = f"a valid {name} selector"
                problems.append(_problem(f"{where}.{kind}", expected, raw[kind], f"({exc})."))


def read_section(name: str, raw: object, problems: list[str]) -> dict[str, Any]:
    """Check one flat section; return the valid values (lists become tuples)."""
    if raw is None or not _mapping(name, raw, problems):
        return {}
    assert isinstance(raw, Mapping)
    checks = SECTIONS[name]
    return {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in raw.items()
        if _check(name, checks, {key: value}, problems)
    }


def _field(name: str, raw: object, problems: list[str]) -> FieldSpec | None:
    where = f"items.fields.{name}"
    if not _mapping(where, raw, problems, " such as {css: 'h1::text'}"):
        return None
    assert isinstance(raw, Mapping)
    n_before = len(problems)
    _check(where, _FIELD, raw, problems)
    sources = [k for k in _SOURCES if k in raw]
    if len(sources) != 1:
        expected = f"a mapping with exactly one of {', '.join(_SOURCES)}"
        problems.append(_problem(where, expected, dict(raw), f"It has {sources or 'none'}."))
    if isinstance(raw.get("url_regex"), str):
        check_regex(f"{where}.url_regex", raw["url_regex"], problems)
    _check_selectors(where, raw, problems)
    if len(problems) > n_before:
        return None
    return FieldSpec(name=name, **{k: raw[k] for k in raw})


def read_items(raw: object, problems: list[str]) -> ItemsSpec:
    """The ``items`` section and its fields."""
    if raw is None or not _mapping("items", raw, problems):
        return ItemsSpec()
    assert isinstance(raw, Mapping)
    valid = {k: v for k, v in raw.items() if _check("items", _ITEMS, {k: v}, problems)}
    if isinstance(valid.get("match"), str):
        check_regex("items.match", valid["match"], problems)
    specs = [_field(str(n), spec, problems) for n, spec in (valid.get("fields") or {}).items()]
    return ItemsSpec(
        match=valid.get("match"),
        fields=tuple(s for s in specs if s is not None),
        workers=valid.get("workers"),
    )


def _listings(raw: Mapping[str, Any], problems: list[str]) -> bool:
    """Whether ``follow`` names feeds or sitemaps; a problem for each one not http(s)://."""
    follow = raw.get("follow")
    if not isinstance(follow, Mapping):
        return False
    named = False
    for key in ("feeds", "sitemaps"):
        urls = follow.get(key)
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            continue  # the follow section's check reports it
        named = named or bool(urls)
        for url in urls:
            if not re.match(r"^https?://[^/\s]+", url):
                fix = f"{url!r} is not an http:// or https:// URL."
                problems.append(_problem(f"follow.{key}", "a list of http(s):// URLs", urls, fix))
    return named


def read_start_urls(raw: Mapping[str, Any], problems: list[str]) -> tuple[str, ...]:
    """``start_urls``: one URL or a list of them, each http:// or https://.

    They may be left out when ``follow.feeds`` or ``follow.sitemaps`` names where to start.
    """
    urls = raw.get("start_urls")
    if _listings(raw, problems) and urls is None:
        return ()
    if isinstance(urls, str):
        urls = [urls]
    expected = "a non-empty list of http:// or https:// URLs"
    if not isinstance(urls, list) or not SequenceOf(Text(), non_empty=True).is_satisfied_by(urls):
        fix = "(or give follow.feeds or follow.sitemaps instead)"
        problems.append(_problem("start_urls", expected, urls, fix))
        return ()
    for url in urls:
        if not re.match(r"^https?://[^/\s]+", url):
            fix = f"{url!r} is not an http:// or https:// URL."
            problems.append(_problem("start_urls", expected, urls, fix))
    return tuple(urls)


def read_top_scalars(raw: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    """The valid top-level values (``allowed_domains`` lower-cased, ``log_level`` upper-cased)."""
    values = {k: raw[k] for k in _SCALARS if k in raw}
    if "log_level" in values:
        values["log_level"] = str(values["log_level"]).upper()
    valid = valid_values(CONFIG_OWNER, _SCALARS, values, problems)
    out: dict[str, Any] = {
        k: float(v) if k == "progress_s" else v for k, v in valid.items() if v is not None
    }
    out["allowed_domains"] = tuple(d.lower() for d in out.get("allowed_domains", ()))
    return out
