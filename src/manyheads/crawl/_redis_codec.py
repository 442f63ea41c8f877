"""Requests as JSON for the shared Redis frontier (never pickle: a shared Redis runs no code here).

scrapy-redis serialises requests with pickle by default; anyone who can write to the Redis server
could then run code in every worker. Here a request is ``Request.to_dict()`` written as JSON, bytes
as base64 and dicts with bytes keys (headers) as pairs. Keys are sorted, so the same request always
encodes to the same text (the queue is a Redis sorted set of these texts).
"""

from __future__ import annotations

import base64
import json
from typing import Any

__all__ = ["dumps", "loads"]


def _encode(obj: object) -> object:
    if isinstance(obj, bytes):
        return {"__b": base64.b64encode(obj).decode("ascii")}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: _encode(v) for k, v in obj.items()}
        return {"__d": [[_encode(k), _encode(v)] for k, v in obj.items()]}
    if isinstance(obj, list | tuple):
        return [_encode(v) for v in obj]
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    raise TypeError(
        f"a request for the shared frontier holds a {type(obj).__name__} ({obj!r}), which has "
        "no JSON form; only str, bytes, numbers, lists and dicts can be queued in Redis."
    )


def _decode(obj: Any) -> Any:  # noqa: ANN401 (JSON in, Python out)
    if isinstance(obj, dict):
        if set(obj) == {"__b"}:
            return base64.b64decode(obj["__b"])
        if set(obj) == {"__d"}:
            return {_decode(k): _decode(v) for k, v in obj["__d"]}
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    return obj


def dumps(obj: dict[str, Any]) -> str:
    """A request dict as canonical JSON text.

    Example:
        >>> text = dumps({"url": "http://h/", "body": b"", "headers": {b"Accept": [b"*/*"]}})
        >>> text
        '{"body": {"__b": ""}, "headers": {"__d": [[{"__b": "QWNjZXB0"}, [{"__b": "Ki8q"}]]]}, "url": "http://h/"}'
        >>> loads(text)["headers"]
        {b'Accept': [b'*/*']}
    """  # noqa: E501
    return json.dumps(_encode(obj), sort_keys=True, separators=(", ", ": "))


def loads(text: str | bytes) -> dict[str, Any]:
    """The request dict of :func:`dumps` text."""
    value = _decode(json.loads(text))
    if not isinstance(value, dict):
        raise ValueError(f"a queued request must be a JSON object. Got {str(text)[:80]!r}.")
    return value
