"""The base of the service's ASGI middlewares: they see HTTP requests, and pass the rest on."""

from __future__ import annotations

from abc import ABC, abstractmethod

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["HTTPMiddleware"]


class HTTPMiddleware(ABC):
    """ASGI middleware that acts on HTTP requests only: other scopes (``lifespan``,
    ``websocket``) go to the application untouched.

    A subclass implements :meth:`handle`, which calls ``self.app`` itself.

    Args:
        app: the application.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    @abstractmethod
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer (or pass on) one HTTP request."""
