"""What a response or a failed request becomes: its page item, its hashes, its failure text."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from manyheads.crawl._items import PageItem

if TYPE_CHECKING:
    from scrapy.http import Headers, Response
    from twisted.python.failure import Failure

__all__ = ["body_sha", "describe_failure", "looks_binary", "page_item"]


def looks_binary(body: bytes) -> bool:
    """Whether a body labelled as text is really binary (NUL bytes or mostly control bytes).

    Example:
        >>> looks_binary(b"<html>ok</html>"), looks_binary(bytes(range(256)))
        (False, True)
    """
    head = body[:4096]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return len(head) > 0 and controls / len(head) > 0.1


def describe_failure(failure: Failure) -> tuple[int | None, str]:
    """``(HTTP status or None, error text)`` of a failed request."""
    from scrapy.exceptions import DownloadCancelledError
    from scrapy.spidermiddlewares.httperror import HttpError

    value = failure.value
    if isinstance(value, HttpError):
        status = value.response.status
        return status, f"HTTP {status}"
    text = str(value).strip()
    if not text and isinstance(value, DownloadCancelledError):
        # Scrapy cancels a streamed body without a message only when it passes DOWNLOAD_MAXSIZE.
        text = "cancelled mid-body: response size over limits.max_page_bytes"
    text = text or type(value).__name__
    return None, f"{type(value).__name__}: {text}"


def body_sha(body: bytes) -> str:
    """The SHA-256 of a body, in hex (a page's ``body_hash``)."""
    return hashlib.sha256(body).hexdigest()


def page_item(
    response: Response, url: str, depth: int, *, links: list[str], body_hash: str
) -> PageItem:
    """The page item of a fetched response, before any fields are extracted from it."""
    headers = response.headers
    return PageItem(
        url=url,
        status=response.status,
        depth=depth,
        content_type=_header(headers, b"Content-Type"),
        etag=_header(headers, b"ETag"),
        last_modified=_header(headers, b"Last-Modified"),
        body_hash=body_hash,
        content_hash=body_hash,
        is_item=False,
        fields=None,
        links=links,
    )


def _header(headers: Headers, name: bytes) -> str | None:
    value = headers.get(name)
    return value.decode("latin-1") if value else None
