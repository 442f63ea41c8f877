"""URL rules shared by the spider and the middlewares: canonical form, schemes, domains."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urlsplit

__all__ = ["SCHEMES", "canonical_url", "has_extension", "host_allowed", "split_host"]

SCHEMES = ("http", "https")


@lru_cache(maxsize=1 << 16)  # pages share most of their links (menus, indexes)
def canonical_url(url: str) -> str:
    """The form a page is stored under: w3lib's canonical URL without the fragment.

    Example:
        >>> canonical_url("http://Example.org/a?b=2&a=1#top")
        'http://example.org/a?a=1&b=2'
    """
    from w3lib.url import canonicalize_url

    return str(canonicalize_url(url, keep_fragments=False))


def host_allowed(host: str | None, domains: Iterable[str]) -> bool:
    """Whether ``host`` is one of ``domains`` or a subdomain of one (ports are ignored).

    An empty ``domains`` allows every host.

    Example:
        >>> [host_allowed(h, ["python.org"]) for h in ("docs.python.org", "evil.org")]
        [True, False]
    """
    domains = list(domains)
    if not domains:
        return True
    if not host:
        return False
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in domains)


@lru_cache(maxsize=1 << 16)
def split_host(url: str) -> tuple[str, str | None]:
    """``(scheme, hostname)`` of a URL, lower-cased."""
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.hostname


def has_extension(url: str, extensions: frozenset[str]) -> bool:
    """Whether the URL's path ends in one of ``extensions`` (``".pdf"``; a set lookup).

    Example:
        >>> has_extension("http://h/a/report.PDF?x=1", frozenset({".pdf"}))
        True
    """
    path = urlsplit(url).path
    return posixpath.splitext(path)[1].lower() in extensions
