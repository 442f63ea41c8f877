"""Safety: only http/https, only allowed domains (redirects included), no private addresses.

Two checks guard private and loopback addresses unless ``safety.allow_private``:
``SafetyMiddleware`` resolves each new host before its first request (so a public name that
points at 127.0.0.1 is refused with a clear failure), and ``SafeResolver`` (Scrapy's
``DNS_RESOLVER``) checks the address that is actually connected to, so DNS rebinding between
the two cannot slip through. Redirects are new requests and pass the middleware again.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request
from scrapy.resolver import CachingThreadedResolver
from twisted.internet.error import DNSLookupError

from manyheads.crawl._urls import SCHEMES, host_allowed, split_host

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from twisted.internet.base import ReactorBase
    from twisted.internet.defer import Deferred

__all__ = ["SafeResolver", "SafetyMiddleware", "is_public_address", "private_reason"]


def is_public_address(address: str) -> bool:
    """Whether an IP address is globally routable (not private, loopback, link-local ...).

    Example:
        >>> [is_public_address(a) for a in ("127.0.0.1", "10.1.2.3", "::1", "8.8.8.8")]
        [False, False, False, True]
    """
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(ip.is_global) and not ip.is_multicast


class SafetyMiddleware:
    """Downloader middleware refusing unsafe requests with ``IgnoreRequest`` (recorded as failures).

    Settings: ``MANYHEADS_ALLOWED_DOMAINS`` (list), ``MANYHEADS_ALLOW_PRIVATE`` (bool).
    """

    def __init__(self, domains: list[str], allow_private: bool) -> None:
        self.domains = domains
        self.allow_private = allow_private
        self._verdicts: dict[str, str | None] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SafetyMiddleware:
        """Build from the crawler's settings."""
        settings = crawler.settings
        return cls(
            list(settings.getlist("MANYHEADS_ALLOWED_DOMAINS")),
            settings.getbool("MANYHEADS_ALLOW_PRIVATE"),
        )

    async def process_request(self, request: Request) -> None:
        """Raise ``IgnoreRequest`` for a bad scheme, a foreign host or a private address."""
        scheme, host = split_host(request.url)
        if scheme not in SCHEMES:
            raise IgnoreRequest(f"refused: scheme {scheme!r} (only http and https are crawled)")
        if not host_allowed(host, self.domains):
            raise IgnoreRequest(f"refused: host {host!r} is not in allowed_domains")
        if self.allow_private or host is None:
            return
        if host not in self._verdicts:
            self._verdicts[host] = await _private_reason(host)
        reason = self._verdicts[host]
        if reason is not None:
            raise IgnoreRequest(reason)


async def _private_reason(host: str) -> str | None:
    """Why ``host`` is refused (it resolves to a non-public address), or None."""
    try:
        addresses = [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            return f"refused: cannot resolve {host!r} ({exc})"
        addresses = sorted({str(info[4][0]) for info in infos})
    return _verdict(host, addresses)


def private_reason(host: str) -> str | None:
    """:func:`_private_reason` without an event loop (checks start URLs before a crawl).

    Example:
        >>> print(private_reason("127.0.0.1"))  # doctest: +ELLIPSIS
        refused: '127.0.0.1' resolves to the private or loopback address 127.0.0.1 (set ...)
    """
    try:
        addresses = [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except OSError as exc:
            return f"refused: cannot resolve {host!r} ({exc})"
        addresses = sorted({str(info[4][0]) for info in infos})
    return _verdict(host, addresses)


def _verdict(host: str, addresses: list[str]) -> str | None:
    for address in addresses:
        if not is_public_address(address):
            return (
                f"refused: {host!r} resolves to the private or loopback address {address} "
                "(set safety.allow_private: true to allow it)"
            )
    return None


class SafeResolver(CachingThreadedResolver):
    """Scrapy's caching resolver that refuses non-public addresses at connection time."""

    allow_private = False

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: ReactorBase) -> SafeResolver:
        """Build like Scrapy's resolver, reading ``MANYHEADS_ALLOW_PRIVATE``."""
        resolver: SafeResolver = super().from_crawler(crawler, reactor)
        resolver.allow_private = crawler.settings.getbool("MANYHEADS_ALLOW_PRIVATE")
        return resolver

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        """Resolve ``name``; fail with ``DNSLookupError`` if the address is not public."""
        deferred = super().getHostByName(name, timeout)
        if self.allow_private:
            return deferred

        def check(address: str) -> str:
            if not is_public_address(address):
                raise DNSLookupError(f"refused: {name!r} resolves to non-public {address}")
            return address

        return deferred.addCallback(check)
