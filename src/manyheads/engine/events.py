"""Named loop events and a tiny dispatcher (scrapy ``signals`` style).

Events, and the keyword arguments their handlers receive:

* ``train_start``: ``n_epochs``, ``n_batches``, ``start_epoch``
* ``step_end``: ``epoch``, ``step``, ``losses`` (dict task -> float)
* ``epoch_end``: ``epoch``, ``record`` (this epoch's row of ``history.csv``), ``history``
* ``train_end``: ``best_epoch``
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["EVENTS", "Events"]

EVENTS = ("train_start", "step_end", "epoch_end", "train_end")

Handler = Callable[..., None]


class Events:
    """Subscribe handlers to named events and fire them in subscription order.

    Example:
        >>> seen = []
        >>> ev = Events()
        >>> ev.connect("epoch_end", lambda **kw: seen.append(kw["epoch"]))
        >>> ev.send("epoch_end", epoch=3, record={})
        >>> seen
        [3]
    """

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {name: [] for name in EVENTS}

    def connect(self, event: str, handler: Handler) -> None:
        """Call ``handler(**kwargs)`` whenever ``event`` is sent."""
        if event not in self._handlers:
            raise ValueError(f"Unknown event '{event}'. Valid events: {', '.join(EVENTS)}.")
        self._handlers[event].append(handler)

    def send(self, event: str, **kwargs: object) -> None:
        """Fire ``event``: call every handler with ``kwargs`` (the payload listed above)."""
        for handler in self._handlers[event]:
            handler(**kwargs)
