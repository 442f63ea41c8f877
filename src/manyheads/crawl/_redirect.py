"""Redirects under the crawl's rules (Scrapy's RedirectMiddleware, checked).

A redirect to a foreign host or scheme, or back into its own chain (a loop), raises
``IgnoreRequest`` so that the spider's errback records it; Scrapy alone would drop a loop in the
dupefilter and an offsite target in the scheduler, silently.
"""

from __future__ import annotations

from typing import Any

from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request

from manyheads.crawl._urls import SCHEMES, canonical_url, host_allowed, split_host

__all__ = ["CheckedRedirectMiddleware"]


class CheckedRedirectMiddleware(RedirectMiddleware):
    """Follow redirects only within ``allowed_domains`` and never around a loop."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.domains = list(settings.getlist("MANYHEADS_ALLOWED_DOMAINS"))

    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        scheme, host = split_host(redirected.url)
        if scheme not in SCHEMES or not host_allowed(host, self.domains):
            raise IgnoreRequest(
                f"refused: redirect to {redirected.url} (host not in allowed_domains "
                "or not http/https)"
            )
        chain = [*request.meta.get("redirect_urls", []), request.url]
        target = canonical_url(redirected.url)
        if target in {canonical_url(u) for u in chain}:
            raise IgnoreRequest(f"redirect loop: {' -> '.join([*chain, redirected.url])}")
        result: Request = super()._redirect(redirected, request, reason)
        return result
