"""The service's limits and choices: :class:`ServeSettings` (``manyheads serve`` options).

Each field is one command-line option (docs/serving.md, "Limits"). The settings travel to
uvicorn's worker processes as JSON in an environment variable (:meth:`ServeSettings.to_json`).
"""

from __future__ import annotations

import dataclasses
import json
import math

from manyheads.errors import InvalidParameterError

__all__ = ["ENGINES", "ServeSettings"]

#: What runs the network: PyTorch, or the run's exported ``model.onnx`` in onnxruntime.
ENGINES: tuple[str, ...] = ("torch", "onnxruntime")


@dataclasses.dataclass(frozen=True)
class ServeSettings:
    """How the service predicts and what it accepts.

    Args:
        engine: ``torch``, or ``onnxruntime`` (the graph ``manyheads export`` wrote into each run).
        max_batch_size: rows of concurrent requests predicted in one call; 1 predicts each
            request alone (no micro-batching).
        max_wait_ms: how long the first request of a micro-batch waits for others.
        max_rows: rows one request may hold (more: 413).
        max_body_bytes: bytes one request body may hold, counted while it is read (more: 413).
        timeout_s: seconds one request may wait for its predictions (more: 504).

    Raises:
        InvalidParameterError: a value out of its range, naming it.

    Example:
        >>> ServeSettings(max_batch_size=32).max_batch_size
        32
        >>> ServeSettings(max_rows=0)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        manyheads.errors.InvalidParameterError: The 'max_rows' setting of serve must be ...
    """

    engine: str = "torch"
    max_batch_size: int = 1
    max_wait_ms: float = 2.0
    max_rows: int = 1000
    max_body_bytes: int = 1_048_576
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise InvalidParameterError(
                f"The 'engine' setting of serve must be one of {', '.join(ENGINES)}. "
                f"Got {self.engine!r}."
            )
        for name in ("max_batch_size", "max_rows", "max_body_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidParameterError(
                    f"The '{name}' setting of serve must be an int >= 1. Got {value!r}."
                )
        for name, low in (("max_wait_ms", 0.0), ("timeout_s", 0.0)):
            value = getattr(self, name)
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if (
                not ok
                or not math.isfinite(value)
                or value < low
                or (name == "timeout_s" and value == 0)
            ):
                bound = "> 0" if name == "timeout_s" else ">= 0"
                raise InvalidParameterError(
                    f"The '{name}' setting of serve must be a finite number {bound}. Got {value!r}."
                )

    def to_json(self) -> str:
        """The settings as one JSON object (what :meth:`from_json` reads)."""
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeSettings:
        """Inverse of :meth:`to_json`."""
        return cls(**json.loads(text))
