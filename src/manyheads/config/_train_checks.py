"""The range and device checks of :class:`~manyheads.config.train.TrainSettings`.

Each check returns the ``"must be ... Got ..."`` half of a message (the caller names the
setting), so that a config reports every problem at once. The ranges are documented in
``docs/config.md``.
"""

from __future__ import annotations

import math

__all__ = ["RANGES", "Bound", "device_problem", "range_problem"]

#: A bound of a range: in ``()`` it is open (``(0.0,)``: > 0), a plain number is closed, None
#: is unbounded.
Bound = float | tuple[float] | None
#: (low, high, integer, what null means or False) of every numeric setting (docs/config.md).
RANGES: dict[str, tuple[Bound, Bound, bool, str | bool]] = {
    "epochs": (1, None, True, False),
    "batch_size": (1, None, True, "chosen by task: 16 sentences for tagging, 512 rows else"),
    "eval_batch_size": (1, None, True, False),
    "lr": ((0.0,), None, False, "chosen by task: 1e-2 for tagging on bilstm/cnn, 1e-3 else"),
    "lr_shared": ((0.0,), None, False, "the value of lr"),
    "lr_task": ((0.0,), None, False, "the value of lr"),
    "lr_encoder": ((0.0,), None, False, "the value of lr"),
    "weight_decay": (0.0, None, False, False),
    "momentum": (0.0, (1.0,), False, False),
    "warmup_epochs": (0.0, None, False, False),
    "step_size": (1, None, True, False),
    "gamma": ((0.0,), 1.0, False, False),
    "clip_norm": ((0.0,), None, False, "no clipping"),
    "patience": (1, None, True, "never stop early"),
    "seed": (0, None, True, False),
    "relations_every": (1, None, True, "never"),
    "affinity_every": (1, None, True, "never"),
}


def range_problem(
    value: object, low: Bound, high: Bound, *, integer: bool, optional: str | bool
) -> str | None:
    """``"must be ... Got ..."`` when ``value`` is outside its range, else None."""
    if value is None and optional:
        return None
    what = f"{'an int' if integer else 'a finite number'} {_bounds_text(low, high)}"
    if optional:
        what += f" (or null: {optional})"
    expected = f"must be {what}. Got {value!r}."
    if isinstance(value, bool) or not isinstance(value, int | float):
        return expected
    if (
        (integer and not isinstance(value, int))
        or not math.isfinite(value)
        or not _within(value, low, high)
    ):
        return expected
    return None


def _bounds_text(low: Bound, high: Bound) -> str:
    """The range in words: ``in (0, 1]``, ``>= 1``, ``< 1`` (at least one bound is set)."""
    if low is not None and high is not None:
        lo = f"({low[0]:g}" if isinstance(low, tuple) else f"[{low:g}"
        hi = f"{high[0]:g})" if isinstance(high, tuple) else f"{high:g}]"
        return f"in {lo}, {hi}"
    if low is not None:
        return f"> {low[0]:g}" if isinstance(low, tuple) else f">= {low:g}"
    return f"< {high[0]:g}" if isinstance(high, tuple) else f"<= {high:g}"


def _within(value: float, low: Bound, high: Bound) -> bool:
    """Whether the finite ``value`` lies inside both bounds (open ones exclude the limit)."""
    for bound, above in ((low, True), (high, False)):
        if bound is None:
            continue
        limit, open_ = (bound[0], True) if isinstance(bound, tuple) else (bound, False)
        if above and (value < limit or (open_ and value == limit)):
            return False
        if not above and (value > limit or (open_ and value == limit)):
            return False
    return True


def device_problem(device: object, *, hardware: bool) -> str | None:
    """``"must be ... Got ..."`` for a device name torch does not know (or, with
    ``hardware``, one this machine lacks), else None."""
    expected = "must be 'cpu', 'auto', 'cuda', 'cuda:N' or 'mps'"
    if not isinstance(device, str):
        return f"{expected}. Got {device!r}."
    kind, _, index = device.partition(":")
    if device in ("cpu", "auto"):
        return None
    if kind not in ("cuda", "mps") or (index and not (index.isdigit() and kind == "cuda")):
        return f"{expected}. Got {device!r}."
    return _hardware_problem(device, kind, index) if hardware else None


def _hardware_problem(device: str, kind: str, index: str) -> str | None:
    """Why this machine cannot run on the well-formed ``device`` (``kind`` ``cuda`` or
    ``mps``, ``index`` the ``N`` of ``cuda:N`` or empty), else None. Imports torch."""
    import torch

    if kind == "mps":
        if not torch.backends.mps.is_available():
            return "is 'mps', and this machine has no Apple GPU (MPS). Use 'cpu' or 'auto'."
        return None
    if not torch.cuda.is_available():
        return (
            f"is {device!r}, and this machine has no CUDA GPU (torch.cuda.is_available() is "
            "False). Use 'cpu', or 'auto' (a GPU when there is one)."
        )
    if index and int(index) >= torch.cuda.device_count():
        return (
            f"is {device!r}, and this machine has {torch.cuda.device_count()} CUDA GPU(s) "
            f"(cuda:0 to cuda:{torch.cuda.device_count() - 1})."
        )
    return None
