"""The request body limit, counted while the body is read (``--max-body-bytes``).

A ``Content-Length`` above the limit is refused before anything is read; a body without one
(a chunked upload) is counted chunk by chunk as the application receives it, and the chunk
that crosses the limit stops the reading with a 413. Checking the header alone would let a
chunked upload through.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from manyheads.serve._errors import error_response
from manyheads.serve._middleware import HTTPMiddleware

__all__ = ["BodyLimit", "BodyTooLarge"]


class BodyTooLarge(HTTPException):
    """A request body beyond the limit (answered as 413 ``body_too_large``)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            f"the request body is larger than {limit} bytes (--max-body-bytes). Send fewer "
            "rows per request.",
        )


class BodyLimit(HTTPMiddleware):
    """ASGI middleware refusing request bodies larger than ``max_bytes``.

    Args:
        app: the application.
        max_bytes: the most bytes a body may hold.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a declared or counted body above ``max_bytes`` with a 413."""
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            err = BodyTooLarge(self.max_bytes)
            await error_response(413, "body_too_large", err.detail)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI re-raises an HTTPException met while reading the body, and the
                    # exception handlers answer it (any other exception would become a 400)
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counted, send)
