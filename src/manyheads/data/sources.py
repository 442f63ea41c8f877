"""Multi-source data: each source labels its own tasks; fit once, encode each, stack them.

A multi-source run (``data.sources`` in the config, ``docs/config.md``) reads several tables that
share inputs but label different tasks. The encoding is fitted on all sources' training rows
(each task's labels from its own sources), every source's splits are encoded on their own, and
the training table samples across sources as ``data.sampling`` says
(:class:`~manyheads.data.sampling.SourceSampler`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from manyheads.data.preprocess import TablePreprocessor
from manyheads.data.sampling import SourceSampler
from manyheads.data.tensors import EncodedTable
from manyheads.tasks.task import Task

__all__ = [
    "EncodedSources",
    "SourceFrames",
    "SourceTables",
    "encode_sources",
    "sampling_line",
    "with_labels",
]


class SourceFrames(Protocol):
    """The frames of one source and the names of the tasks it labels (the workflow's
    :class:`~manyheads.workflow._splits.SourceSplits`)."""

    @property
    def name(self) -> str:
        """The source's name in reports."""

    @property
    def tasks(self) -> tuple[str, ...]:
        """The names of the tasks whose labels this source holds."""

    @property
    def train(self) -> pd.DataFrame:
        """The source's training rows."""

    @property
    def valid(self) -> pd.DataFrame:
        """The source's validation rows."""

    @property
    def test(self) -> pd.DataFrame | None:
        """The source's test rows, if any."""


@dataclass(frozen=True)
class SourceTables:
    """One source's encoded evaluation splits and its tasks (scored on their own)."""

    name: str
    tasks: list[Task]
    valid: EncodedTable
    test: EncodedTable | None


@dataclass(frozen=True)
class EncodedSources:
    """All sources' splits encoded and stacked, and each source's own evaluation tables."""

    train: EncodedTable
    valid: EncodedTable
    test: EncodedTable | None
    sources: list[SourceTables]


def with_labels(frame: pd.DataFrame, tasks: Sequence[Task]) -> pd.DataFrame:
    """``frame`` with every absent label column added as missing (another source's tasks).

    Example:
        >>> out = with_labels(pd.DataFrame({"x": [1, 2]}), [Task("y", type="binary")])
        >>> out["y"].tolist()
        [None, None]
    """
    absent = [c for t in tasks for c in t.label_columns if c not in frame.columns]
    if not absent:
        return frame
    out = frame.assign(
        **{
            c: pd.Series([None] * len(frame), index=frame.index, dtype=object)
            for c in dict.fromkeys(absent)
        }
    )
    out.attrs.update(frame.attrs)
    return out


def _fit_on_sources(
    pre: TablePreprocessor, train: pd.DataFrame, sources: Sequence[SourceFrames], tasks: list[Task]
) -> None:
    """Fit ``pre`` on the stacked ``train`` rows, each task's labels from its own sources."""
    for src in sources:
        pre.check_inputs(src.train)
    task_frames = {}
    for task in tasks:
        own = [s.train for s in sources if task.name in s.tasks]
        task_frames[task.name] = own[0] if len(own) == 1 else pd.concat(own)
        task_frames[task.name].attrs.update(own[0].attrs)
    pre.fit(train, task_frames=task_frames)


def encode_sources(
    pre: TablePreprocessor,
    train: pd.DataFrame,
    sources: Sequence[SourceFrames],
    tasks: Sequence[Task],
    *,
    sampling: str,
    temperature: float,
) -> EncodedSources:
    """Fit ``pre`` on all sources' training rows, encode every source's splits on their own,
    and stack them; the stacked train table samples across sources by ``sampling`` (with
    ``temperature`` for ``temperature`` sampling)."""
    tasks = list(tasks)
    _fit_on_sources(pre, train, sources, tasks)
    pad = {f"ids:{col}": tok.pad_id_ for col, tok in pre.sequence_.items()}

    def encode(frame: pd.DataFrame) -> EncodedTable:
        return pre.transform(with_labels(frame, tasks))

    by_name = {t.name: t for t in tasks}
    train_parts, valid_parts, test_parts, tables = [], [], [], []
    for src in sources:
        train_parts.append(encode(src.train))
        valid = encode(src.valid)
        test = encode(src.test) if src.test is not None else None
        valid_parts.append(valid)
        if test is not None:
            test_parts.append(test)
        tables.append(SourceTables(src.name, [by_name[t] for t in src.tasks], valid, test))
    stacked = EncodedTable.concat(train_parts, pad=pad)
    stacked.sampler = SourceSampler([t.n_rows for t in train_parts], sampling, temperature)
    test_t = EncodedTable.concat(test_parts, pad=pad) if test_parts else None
    return EncodedSources(stacked, EncodedTable.concat(valid_parts, pad=pad), test_t, tables)


def sampling_line(
    sampler: SourceSampler, names: list[str], sampling: str, temperature: float
) -> str:
    """The log line that says how an epoch draws from each source."""
    described = sampler.describe(names)
    return (
        f"sampling {sampling}"
        + (f" (T={temperature:g})" if sampling == "temperature" else "")
        + "; per epoch: "
        + ", ".join(f"{k} {v['examples_per_epoch']} of {v['rows']}" for k, v in described.items())
    )
