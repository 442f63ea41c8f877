"""What the spider yields and the store pipeline writes (Scrapy items as dataclasses).

``PageItem`` is a fetched page (a record when ``is_item``), ``UnchangedItem`` a page whose stored
row stays as it is (HTTP 304 or the same body), ``FailureItem`` a URL that could not be crawled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["FailureItem", "PageItem", "UnchangedItem"]


@dataclass
class PageItem:
    """A fetched page, written as one row of the ``pages`` table."""

    url: str
    status: int
    depth: int
    content_type: str | None
    etag: str | None
    last_modified: str | None
    body_hash: str
    content_hash: str
    is_item: bool
    fields: dict[str, Any] | None
    links: list[str]
    minhash: bytes | None = None
    raw_html: bytes | None = None


@dataclass
class UnchangedItem:
    """A stored page that the server says (304) or the body shows did not change."""

    url: str


@dataclass
class FailureItem:
    """A URL that failed after retries: its last HTTP status (if any) and the error."""

    url: str
    status: int | None
    error: str
