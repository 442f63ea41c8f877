"""Scrapy's robots.txt middleware, with requests that wait for a robots.txt all getting its rules.

Scrapy 2.19's ``RobotsTxtMiddleware.robot_parser`` makes every request to a host whose robots.txt
is still downloading ``await`` the one pending ``Deferred`` through ``Deferred.asFuture``, which
hands the result to the first waiter only: the others get ``None``, which Scrapy reads as "no
robots.txt", and they are sent even when robots.txt forbids them (seen on a local site: a worker
joining a distributed crawl pops 16 requests at once; the same happens to a plain crawl with
several start URLs on one host). The change came with scrapy/scrapy#6802 ("not covered by the
tests", its review says). Here the first request downloads robots.txt as Scrapy does, and the
others wait on an asyncio future that any number of waiters may share, then read the rules.
Used by every crawl (:mod:`._settings`).
"""

from __future__ import annotations

import asyncio

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.http import Request
from scrapy.robotstxt import RobotParser
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

__all__ = ["SharedRobotsTxtMiddleware"]


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """``RobotsTxtMiddleware`` whose concurrent waiters all get the host's parsed robots.txt."""

    _pending: dict[str, asyncio.Future[None]]

    async def robot_parser(self, request: Request) -> RobotParser | None:
        """The parsed robots.txt of the request's host (downloaded once), or None if it failed."""
        pending = self.__dict__.setdefault("_pending", {})
        netloc = urlparse_cached(request).netloc
        waiting = pending.get(netloc)
        if waiting is not None:
            await asyncio.shield(waiting)
            parser = self._parsers.get(netloc)
            assert not isinstance(parser, Deferred), "robots.txt is parsed before waiters wake"
            return parser
        if netloc in self._parsers:
            return await super().robot_parser(request)
        pending[netloc] = asyncio.get_running_loop().create_future()
        try:
            return await super().robot_parser(request)  # downloads; the result is not shared
        finally:
            pending.pop(netloc).set_result(None)
