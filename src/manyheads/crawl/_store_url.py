"""Which addresses a crawl store accepts (``store.url`` of the crawl config, ``docs/crawl.md``)."""

from __future__ import annotations

import re

from manyheads._validation import option_message

__all__ = ["CONFIG_OWNER", "STORE_EXTENSIONS", "store_url_problem"]

#: How the messages of the crawl config name it.
CONFIG_OWNER = "the crawl config"
#: File extensions that make a bare path a SQLite store (``crawl.db`` -> ``sqlite:///crawl.db``).
STORE_EXTENSIONS = (".db", ".sqlite", ".sqlite3")
_STORE_BACKENDS = ("sqlite", "postgresql", "postgres")
_STORE_FORMS = (
    "a SQLAlchemy URL (sqlite:///path/to/crawl.db, postgresql://user@host/db, "
    "postgresql+psycopg://user@host:5432/db) or a path ending in " + ", ".join(STORE_EXTENSIONS)
)
_SQLITE_SLASHES = (
    "a SQLite URL with three slashes before a relative path and four before an absolute one "
    "(sqlite:///crawl.db, sqlite:////data/crawl.db)"
)


def _problem(expected: str, url: str, fix: str = "") -> str:
    return option_message(CONFIG_OWNER, "store.url", expected, url, fix)


def store_url_problem(url: str) -> str | None:
    """Why ``url`` is not a crawl store address, or None when it is one.

    Accepted: ``sqlite:///PATH`` (or ``sqlite://`` in memory), ``postgresql://...``,
    ``postgres://...`` and ``postgresql+DRIVER://...``, or a bare path ending in one of
    :data:`STORE_EXTENSIONS`. Anything else would silently become a SQLite file of that name.

    Example:
        >>> store_url_problem("sqlite:///crawl.db") is None, store_url_problem("c.sqlite") is None
        (True, True)
        >>> print(store_url_problem("not a url at all"))  # doctest: +ELLIPSIS
        The 'store.url' option of the crawl config must be a SQLAlchemy URL (sqlite:///path/...
    """
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*)://", url)
    if scheme is None:
        if "://" in url or not url.lower().endswith(STORE_EXTENSIONS) or url.strip() != url:
            return _problem(_STORE_FORMS, url)
        return None
    backend = scheme.group(1).split("+")[0].lower()
    if backend not in _STORE_BACKENDS:
        fix = f"The database {backend!r} is not one: a crawl store is SQLite or PostgreSQL."
        return _problem(_STORE_FORMS, url, fix)
    if backend == "sqlite" and not (
        url.startswith(f"{scheme.group(1)}:///") or url.endswith("://")
    ):
        return _problem(_SQLITE_SLASHES, url)
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
    except (ArgumentError, ValueError) as exc:
        return _problem(f"a valid SQLAlchemy URL, {_STORE_FORMS}", url, f"({exc})")
    return None
