"""What a compression report measures: the run's splits, metrics per task, latency per batch."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from torch import Tensor

from manyheads.compress._report import TaskChange
from manyheads.config.schema import RunConfig
from manyheads.errors import DataError, ManyheadsError
from manyheads.workflow._run import Run

__all__ = ["RunData", "median_ms", "primary_scores", "run_data", "task_changes"]

#: The batch sizes whose latency every report gives (issue 18, section 3).
BATCH_SIZES = (1, 64)


@dataclass(frozen=True)
class RunData:
    """The run's configuration and its splits, as its ``config.yaml`` names them."""

    config: RunConfig
    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame | None


def run_data(run: Run) -> RunData:
    """Read the run's ``config.yaml`` and its train, validation and test splits.

    Raises:
        DataError: the run has no directory or no ``config.yaml``, or its data cannot be read.
    """
    from manyheads.config.load import load_config
    from manyheads.workflow._splits import load_splits

    if run.directory is None or not (run.directory / "config.yaml").is_file():
        where = str(run.directory) if run.directory is not None else "<run>"
        raise DataError(
            "holds no config.yaml, so the run's own data is unknown: a compression scores "
            "every task on the run's validation and test splits before and after. Compress a "
            "run directory written by manyheads train.",
            path=where,
        )
    path = run.directory / "config.yaml"
    try:
        splits, config = load_splits(load_config(path, hardware=False))
    except (ManyheadsError, OSError) as exc:
        raise DataError(f"cannot read the run's data ({exc}).", path=str(path)) from None
    test = splits.test if splits.test is not None and len(splits.test) else None
    return RunData(config, splits.train, splits.valid, test)


def primary_scores(run: Run, frame: pd.DataFrame) -> dict[str, tuple[str, bool, float]]:
    """Each task's primary metric on labelled rows: {task: (name, higher_is_better, value)}."""
    scores = run.evaluate(frame)["tasks"]
    out = {}
    for name, s in scores.items():
        value = s.get(s["primary"])
        out[name] = (
            s["primary"],
            bool(s["higher_is_better"]),
            float("nan") if value is None else value,
        )
    return out


def task_changes(before: Run, after: Run, data: RunData) -> dict[str, TaskChange]:
    """Each task's primary metric with ``before`` and ``after`` on the validation and test rows."""
    splits = {"valid": data.valid, "test": data.test}
    scored = {
        name: (primary_scores(before, frame), primary_scores(after, frame))
        for name, frame in splits.items()
        if frame is not None
    }
    out = {}
    for task in before.model.task_names:
        valid_b, valid_a = (s[task] for s in scored["valid"])
        test = None
        if "test" in scored:
            test_b, test_a = (s[task] for s in scored["test"])
            test = (test_b[2], test_a[2])
        out[task] = TaskChange(valid_b[0], valid_b[1], (valid_b[2], valid_a[2]), test)
    return out


def encoded_batch(run: Run, frame: pd.DataFrame, size: int) -> dict[str, Tensor]:
    """``size`` rows of ``frame`` (repeated when it has fewer), encoded for the network."""
    rows = frame.head(size)
    while len(rows) < size:
        rows = pd.concat([rows, frame.head(size - len(rows))])
    return run.preprocessor.transform(rows, labels=False).x


def median_ms(call: Callable[[], object], *, budget_s: float = 1.0, max_passes: int = 50) -> float:
    """The median wall time of ``call()`` in milliseconds: two warm-up passes, then passes until
    ``budget_s`` is spent (at least 5, at most ``max_passes``)."""
    for _ in range(2):
        call()
    times: list[float] = []
    spent = 0.0
    while len(times) < 5 or (spent < budget_s and len(times) < max_passes):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
        spent += times[-1]
    return statistics.median(times) * 1000.0


def file_size(path: Path) -> int:
    """The size of a file in bytes."""
    return path.stat().st_size
