"""Proof that an exported graph computes what the eager model computes: per-task differences.

A task passes when every output element ``o`` of onnxruntime and ``e`` of eager PyTorch satisfy
``|o - e| <= atol + rtol * |e|`` (the rule of ``numpy.allclose``), with ``rtol = 1e-4`` and
``atol = 1e-5`` in float32 (issue 18, section 2). The report gives, per task, the largest
absolute difference and the largest relative one (``|o - e| / |e|`` over elements with
``e != 0``), and the export is refused when any task fails.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ATOL", "RTOL", "ParityReport", "TaskParity", "compare_outputs", "merge_parity"]

#: Tolerances of the parity check in float32.
RTOL = 1e-4
ATOL = 1e-5


@dataclass(frozen=True)
class TaskParity:
    """One task's differences between onnxruntime and eager outputs.

    Attributes:
        max_abs: the largest ``|onnx - eager|``.
        max_rel: the largest ``|onnx - eager| / |eager|`` over the non-zero eager elements.
        passed: every element is within ``atol + rtol * |eager|``.
    """

    max_abs: float
    max_rel: float
    passed: bool


@dataclass(frozen=True)
class ParityReport:
    """The parity check of one export: per-task differences, and what they were measured on.

    Attributes:
        tasks: task name -> its differences (the worst over every checked batch).
        rtol: the relative tolerance.
        atol: the absolute tolerance.
        rows: the number of sample rows.
        batch_sizes: the batch sizes that were run (the sample, then one row).
        source: where the rows came from (a file and split, or ``--data``).
    """

    tasks: dict[str, TaskParity]
    rtol: float
    atol: float
    rows: int
    batch_sizes: tuple[int, ...]
    source: str

    @property
    def passed(self) -> bool:
        """Every task is within tolerance."""
        return all(t.passed for t in self.tasks.values())

    def failed(self) -> list[str]:
        """The tasks above tolerance, in task order."""
        return [name for name, t in self.tasks.items() if not t.passed]

    def to_dict(self) -> dict[str, Any]:
        """The JSON layout of ``model.onnx.json``'s ``parity`` entry."""
        out = dataclasses.asdict(self)
        out["batch_sizes"] = list(self.batch_sizes)
        out["passed"] = self.passed
        return out

    def lines(self) -> list[str]:
        """One printable line per task, then the verdict.

        Example:
            >>> r = ParityReport({"y": TaskParity(2e-8, 1e-7, True)}, 1e-4, 1e-5, 8, (8, 1), "d")
            >>> print("\\n".join(r.lines()))
            parity on 8 rows of d (batches 8, 1), rtol 0.0001, atol 1e-05:
              y: max abs diff 2e-08, max rel diff 1e-07: ok
            passed
        """
        sizes = ", ".join(str(b) for b in self.batch_sizes)
        head = (
            f"parity on {self.rows} rows of {self.source} (batches {sizes}), "
            f"rtol {self.rtol:g}, atol {self.atol:g}:"
        )
        body = [
            f"  {name}: max abs diff {t.max_abs:.3g}, max rel diff {t.max_rel:.3g}: "
            f"{'ok' if t.passed else 'ABOVE TOLERANCE'}"
            for name, t in self.tasks.items()
        ]
        return [head, *body, "passed" if self.passed else "failed"]


def _task_parity(onnx: np.ndarray, eager: np.ndarray, rtol: float, atol: float) -> TaskParity:
    if onnx.shape != eager.shape:
        return TaskParity(float("inf"), float("inf"), False)
    onnx, eager = onnx.astype(np.float64), eager.astype(np.float64)
    diff = np.abs(onnx - eager)
    if diff.size == 0:
        return TaskParity(0.0, 0.0, True)
    nonzero = eager != 0
    rel = diff[nonzero] / np.abs(eager[nonzero])
    passed = bool(np.all(diff <= atol + rtol * np.abs(eager)))  # NaN anywhere fails
    return TaskParity(float(diff.max()), float(rel.max()) if rel.size else 0.0, passed)


def compare_outputs(
    onnx: Mapping[str, np.ndarray],
    eager: Mapping[str, np.ndarray],
    *,
    rtol: float = RTOL,
    atol: float = ATOL,
) -> dict[str, TaskParity]:
    """Per-task differences of two sets of outputs ``{task: array}`` (eager's tasks and order).

    A task whose shapes differ, or that the graph lacks, fails with infinite differences.

    Example:
        >>> e = {"y": np.array([1.0, 2.0], dtype=np.float32)}
        >>> compare_outputs({"y": e["y"] + np.float32(1e-6)}, e)["y"].passed
        True
        >>> compare_outputs({"y": e["y"] + np.float32(1e-3)}, e)["y"].passed
        False
    """
    missing = np.full(1, np.nan)
    return {t: _task_parity(onnx.get(t, missing), e, rtol, atol) for t, e in eager.items()}


def merge_parity(parts: Sequence[dict[str, TaskParity]]) -> dict[str, TaskParity]:
    """The worst of several batches' differences, task by task."""
    out: dict[str, TaskParity] = {}
    for part in parts:
        for name, t in part.items():
            old = out.get(name, TaskParity(0.0, 0.0, True))
            out[name] = TaskParity(
                max(old.max_abs, t.max_abs), max(old.max_rel, t.max_rel), old.passed and t.passed
            )
    return out
