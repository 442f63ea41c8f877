"""Retries with exponential back-off that honour ``Retry-After`` (Scrapy's RetryMiddleware).

Scrapy retries at once; this subclass waits first: ``Retry-After`` (seconds or an HTTP date,
capped by ``MANYHEADS_MAX_RETRY_AFTER``) when the server sends one, else
``MANYHEADS_BACKOFF * 2 ** (attempt - 1)`` capped by ``MANYHEADS_MAX_BACKOFF``.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Request, Response
from scrapy.utils.response import response_status_message

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

__all__ = ["BackoffRetryMiddleware", "retry_after_seconds"]


def retry_after_seconds(value: bytes | str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header value (delta seconds or HTTP date).

    Example:
        >>> retry_after_seconds(b"3")
        3.0
        >>> retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470)
        10.0
        >>> retry_after_seconds("soon") is None
        True
    """
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry middleware with a delay before each retry."""

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.backoff = float(settings.getfloat("MANYHEADS_BACKOFF", 1.0))
        self.max_backoff = float(settings.getfloat("MANYHEADS_MAX_BACKOFF", 60.0))
        self.max_retry_after = float(settings.getfloat("MANYHEADS_MAX_RETRY_AFTER", 120.0))

    def _delay(self, retry: Request, response: Response | None) -> float:
        if response is not None:
            after = retry_after_seconds(response.headers.get(b"Retry-After"))
            if after is not None:
                return min(after, self.max_retry_after)
        attempt = int(retry.meta.get("retry_times", 1))
        delay: float = min(self.backoff * 2 ** (attempt - 1), self.max_backoff)
        return delay

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        """Retry a retryable status after the back-off or ``Retry-After`` delay."""
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        await asyncio.sleep(self._delay(retry, response))
        return retry

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        """Retry a retryable exception (timeouts, resets) after the back-off delay."""
        if request.meta.get("dont_retry", False) or not isinstance(
            exception, self.exceptions_to_retry
        ):
            return None
        retry = self._retry(request, exception)
        if retry is None:
            return None
        await asyncio.sleep(self._delay(retry, None))
        return retry
