"""The report of a compression (``compress.json``, also printed): what it cost and what it won.

Per task, the primary metric before and after on the run's validation and test splits; the
model file's size, the parameter count, and the latency at batch 1 and 64 (the median of
several passes), before and after. A *drop* is the loss of the primary metric in its own
units, whatever its direction (``auc`` 0.95 -> 0.94 and ``rmse`` 1.00 -> 1.01 both drop by
0.01); the compression is refused when a task's worst drop is above ``max_drop``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

__all__ = ["CompressReport", "Latency", "TaskChange"]


@dataclass(frozen=True)
class TaskChange:
    """One task's primary metric before and after, per split (None: the run has no such split).

    Attributes:
        metric: the primary metric's name.
        higher_is_better: its direction.
        valid: (before, after) on the validation split.
        test: (before, after) on the test split, or None.
    """

    metric: str
    higher_is_better: bool
    valid: tuple[float, float]
    test: tuple[float, float] | None

    def drop(self) -> float:
        """The worst loss of the metric over the splits, in its own units (< 0: it improved).

        Example:
            >>> TaskChange("auc", True, (0.90, 0.89), (0.91, 0.905)).drop()
            0.01...
        """
        pairs = [self.valid] if self.test is None else [self.valid, self.test]
        sign = 1.0 if self.higher_is_better else -1.0
        drops = [sign * (before - after) for before, after in pairs]
        return max(drops) if all(math.isfinite(d) for d in drops) else math.inf


@dataclass(frozen=True)
class Latency:
    """Milliseconds per batch (median of several passes), before and after, at one batch size."""

    batch_size: int
    before_ms: float
    after_ms: float

    @property
    def speedup(self) -> float:
        """``before / after``: above 1 the compressed model is faster."""
        return self.before_ms / self.after_ms if self.after_ms > 0 else math.inf


@dataclass(frozen=True)
class CompressReport:
    """What a compression changed, task by task, and what it won in size and speed.

    Attributes:
        kind: ``quantize`` or ``prune``.
        source: the run that was compressed.
        engine: what ran the model for the latencies (before -> after).
        tasks: task name -> its primary metric before and after.
        size_bytes: the model file's size (before, after).
        n_parameters: the parameter count (before, after).
        latency: one entry per batch size (1 and 64).
        max_drop: the largest metric drop allowed per task.
        forced: the compression was kept although a task dropped more than ``max_drop``.
        settings: the compression's own settings (per channel, amount, epochs ...).
    """

    kind: str
    source: str
    engine: str
    tasks: dict[str, TaskChange]
    size_bytes: tuple[int, int]
    n_parameters: tuple[int, int]
    latency: tuple[Latency, ...]
    max_drop: float
    forced: bool = False
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)

    def failed(self) -> list[str]:
        """The tasks whose metric dropped by more than ``max_drop``, in task order."""
        return [name for name, t in self.tasks.items() if not t.drop() <= self.max_drop]

    @property
    def passed(self) -> bool:
        """No task dropped by more than ``max_drop``."""
        return not self.failed()

    @property
    def size_ratio(self) -> float:
        """``before / after`` of the model file's size."""
        before, after = self.size_bytes
        return before / after if after else math.inf

    def to_dict(self) -> dict[str, Any]:
        """The layout of ``compress.json``."""
        tasks = {
            name: {
                "metric": t.metric,
                "higher_is_better": t.higher_is_better,
                "valid": {"before": t.valid[0], "after": t.valid[1]},
                "test": None if t.test is None else {"before": t.test[0], "after": t.test[1]},
                "drop": t.drop(),
            }
            for name, t in self.tasks.items()
        }
        return {
            "tool": "manyheads",
            "kind": self.kind,
            "source": self.source,
            "settings": self.settings,
            "engine": self.engine,
            "tasks": tasks,
            "size_bytes": {"before": self.size_bytes[0], "after": self.size_bytes[1]},
            "size_ratio": self.size_ratio,
            "n_parameters": {"before": self.n_parameters[0], "after": self.n_parameters[1]},
            "latency_ms": {
                str(lat.batch_size): {
                    "before": lat.before_ms,
                    "after": lat.after_ms,
                    "speedup": lat.speedup,
                }
                for lat in self.latency
            },
            "max_drop": self.max_drop,
            "passed": self.passed,
            "forced": self.forced,
        }

    def lines(self) -> list[str]:
        """The printed report: one line per task, then size, parameters, latency, verdict.

        Example:
            >>> r = CompressReport(
            ...     "quantize", "runs/a", "onnxruntime fp32 -> int8",
            ...     {"y": TaskChange("auc", True, (0.9, 0.899), None)},
            ...     (4000, 1000), (1000, 1000), (Latency(1, 0.2, 0.1),), 0.005,
            ... )
            >>> print("\\n".join(r.lines()))
            quantize runs/a (onnxruntime fp32 -> int8):
              y: auc valid 0.9000 -> 0.8990: drop 0.0010 (limit 0.005): ok
              size: 4000 -> 1000 bytes (4.00x smaller)
              parameters: 1000 -> 1000
              latency at batch 1: 0.200 -> 0.100 ms (2.00x faster)
            passed
        """
        out = [f"{self.kind} {self.source} ({self.engine}):"]
        for name, t in self.tasks.items():
            splits = [("valid", t.valid)] + ([("test", t.test)] if t.test is not None else [])
            values = ", ".join(f"{s} {b:.4f} -> {a:.4f}" for s, (b, a) in splits)
            verdict = "ok" if t.drop() <= self.max_drop else "ABOVE THE LIMIT"
            out.append(
                f"  {name}: {t.metric} {values}: drop {t.drop():.4f} "
                f"(limit {self.max_drop:g}): {verdict}"
            )
        out.append(
            f"  size: {self.size_bytes[0]} -> {self.size_bytes[1]} bytes "
            f"({_ratio(self.size_ratio, 'smaller', 'larger')})"
        )
        out.append(f"  parameters: {self.n_parameters[0]} -> {self.n_parameters[1]}")
        if self.settings.get("fp32_nodes"):
            out.append(f"  kept in float32: {', '.join(self.settings['fp32_nodes'])}")
        for lat in self.latency:
            out.append(
                f"  latency at batch {lat.batch_size}: {lat.before_ms:.3f} -> "
                f"{lat.after_ms:.3f} ms ({_ratio(lat.speedup, 'faster', 'slower')})"
            )
        verdict = "passed" if self.passed else "failed"
        if not self.passed and self.forced:
            verdict = "failed (kept: --force)"
        return [*out, verdict]


def _ratio(ratio: float, better: str, worse: str) -> str:
    """``2.00x faster``, or ``2.00x slower`` for a ratio of 0.5 (never "0.50x faster").

    Example:
        >>> _ratio(2.0, "faster", "slower"), _ratio(0.5, "faster", "slower")
        ('2.00x faster', '2.00x slower')
    """
    if ratio >= 1 or ratio <= 0:
        return f"{ratio:.2f}x {better}"
    return f"{1 / ratio:.2f}x {worse}"
