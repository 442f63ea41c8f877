"""Redirects under the crawl's rules (Scrapy's redirect middlewares, checked).

A redirect (HTTP 3xx or ``<meta http-equiv="refresh">``) to a foreign host or a scheme other
than http/https, or back into its own chain (a loop), raises ``IgnoreRequest`` so that the
spider's errback records it with the reason and the target. Scrapy alone would return a 3xx to
``file://`` as a plain "HTTP 302", drop a loop in the dupefilter and an offsite target (meta
refresh included) in the scheduler, silently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urljoin

from scrapy.downloadermiddlewares.redirect import (
    BaseRedirectMiddleware,
    MetaRefreshMiddleware,
    RedirectMiddleware,
)
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.response import get_meta_refresh
from w3lib.url import safe_url_string

from manyheads.crawl._urls import SCHEMES, canonical_url, host_allowed, split_host

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

__all__ = ["CheckedMetaRefreshMiddleware", "CheckedRedirectMiddleware", "refusal"]

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def refusal(target: str, domains: list[str], *, kind: str = "redirect") -> str | None:
    """Why a redirect to ``target`` is refused (scheme or host), or None when it may be followed.

    Example:
        >>> refusal("file:///etc/passwd", ["127.0.0.1"])
        "refused: redirect to file:///etc/passwd (scheme 'file' not allowed; only http and https)"
        >>> print(refusal("http://evil.org/x", ["127.0.0.1"], kind="meta refresh"))
        refused: meta refresh to http://evil.org/x (offsite: host 'evil.org' not in allowed_domains)
    """
    scheme, host = split_host(target)
    if scheme not in SCHEMES:
        return f"refused: {kind} to {target} (scheme {scheme!r} not allowed; only http and https)"
    if not host_allowed(host, domains):
        return f"refused: {kind} to {target} (offsite: host {host!r} not in allowed_domains)"
    return None


def _check_chain(redirected: Request, request: Request) -> None:
    chain = [*request.meta.get("redirect_urls", []), request.url]
    target = canonical_url(redirected.url)
    if target in {canonical_url(u) for u in chain}:
        raise IgnoreRequest(f"redirect loop: {' -> '.join([*chain, redirected.url])}")


class _AllowedDomains(BaseRedirectMiddleware):
    """Reads ``MANYHEADS_ALLOWED_DOMAINS`` for the checks of both redirect middlewares."""

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.domains = list(settings.getlist("MANYHEADS_ALLOWED_DOMAINS"))


class CheckedRedirectMiddleware(_AllowedDomains, RedirectMiddleware):
    """Follow redirects only to http(s) within ``allowed_domains`` and never around a loop."""

    # Without Scrapy's deprecated ``spider`` argument (Scrapy then calls it without one).
    def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        """Refuse a 3xx whose ``Location`` has a foreign scheme (Scrapy returns the 3xx)."""
        location = response.headers.get(b"Location")
        if (
            location
            and response.status in _REDIRECT_STATUSES
            and not request.meta.get("dont_redirect", False)
        ):
            target = urljoin(request.url, safe_url_string(location))  # "//host/x" keeps the scheme
            if split_host(target)[0] not in SCHEMES:
                raise IgnoreRequest(refusal(target, self.domains))
        result: Request | Response = super().process_response(request, response)
        return result

    def _redirect(self, redirected: Request, request: Request, reason: int | str) -> Request:
        why = refusal(redirected.url, self.domains)
        if why is not None:
            raise IgnoreRequest(why)
        _check_chain(redirected, request)
        result: Request = super()._redirect(redirected, request, reason)
        return result


class CheckedMetaRefreshMiddleware(_AllowedDomains, MetaRefreshMiddleware):
    """Scrapy's meta refresh, with the same checks as :class:`CheckedRedirectMiddleware`."""

    # Without Scrapy's deprecated ``spider`` argument (Scrapy then calls it without one).
    def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        """Refuse a meta refresh to another scheme or an offsite host; follow the others."""
        if isinstance(response, HtmlResponse) and not request.meta.get("dont_redirect", False):
            interval, url = get_meta_refresh(response, ignore_tags=self._ignore_tags)
            if url and float(interval or 0) < self._maxdelay:
                why = refusal(url, self.domains, kind="meta refresh")
                if why is not None:
                    raise IgnoreRequest(why)
        result: Request | Response = super().process_response(request, response)
        return result

    def _redirect(self, redirected: Request, request: Request, reason: int | str) -> Request:
        _check_chain(redirected, request)
        result: Request = super()._redirect(redirected, request, reason)
        return result
