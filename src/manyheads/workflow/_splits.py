"""Resolve a run's data into train / validation / test frames (files, dataset, or fractions)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from manyheads.config.schema import DataConfig, RunConfig
from manyheads.data.io import read_table
from manyheads.errors import DataError

if TYPE_CHECKING:
    from manyheads.data.streaming import StreamedTrain

__all__ = ["SourceSplits", "Splits", "is_streamed", "load_splits", "split_frame"]

#: rows of a streamed train read up front, from which the input kinds are inferred.
HEAD_ROWS = 10_000


@dataclass(frozen=True)
class SourceSplits:
    """The frames of one source of a multi-source run and the tasks it labels."""

    name: str
    tasks: tuple[str, ...]
    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame | None


@dataclass(frozen=True)
class Splits:
    """The frames of one run; ``test`` may be absent.

    A multi-source run also has ``sources``; ``train``/``valid``/``test`` then hold all
    sources' rows stacked (each task's labels only in its own source's rows). A streamed run
    has ``stream`` (:mod:`manyheads.data.streaming`).
    """

    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame | None
    sources: tuple[SourceSplits, ...] = ()
    #: a streamed train (``data.stream``): ``train`` then holds only its first rows, from which
    #: the input kinds are inferred.
    stream: StreamedTrain | None = None


def split_frame(
    frame: pd.DataFrame, fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out ``fraction`` of the rows at random (seeded); returns (rest, held_out).

    Example:
        >>> rest, held = split_frame(pd.DataFrame({"a": range(10)}), 0.2, seed=0)
        >>> len(rest), len(held)
        (8, 2)
    """
    n_held = round(len(frame) * fraction)
    if n_held < 1 or n_held >= len(frame):
        raise DataError(
            f"cannot hold out {fraction:.0%} of {len(frame)} rows for validation/test; "
            "give a 'valid'/'test' file or change the fraction.",
            path=str(frame.attrs.get("path", "<train>")),
        )
    order = np.random.default_rng(seed).permutation(len(frame))
    held = np.sort(order[:n_held])
    keep = np.sort(order[n_held:])
    return _keep_attrs(frame.iloc[keep], frame), _keep_attrs(frame.iloc[held], frame)


def _keep_attrs(part: pd.DataFrame, whole: pd.DataFrame) -> pd.DataFrame:
    part = part.copy()
    part.attrs.update(whole.attrs)
    return part


def _by_column(frame: pd.DataFrame, column: str) -> dict[str, pd.DataFrame]:
    if column not in frame.columns:
        raise DataError(
            f"the split column '{column}' is missing.", path=str(frame.attrs.get("path"))
        )
    values = frame[column].astype(str).str.strip().str.lower()
    bad = ~values.isin(["train", "valid", "test"])
    if bad.any():
        line = int(frame.index[int(np.flatnonzero(bad.to_numpy())[0])])
        raise DataError(
            f"split values must be train, valid or test; got {frame[column][bad].iloc[0]!r}.",
            path=str(frame.attrs.get("path")),
            line=line,
            column=column,
        )
    return {
        name: _keep_attrs(frame[values == name].drop(columns=[column]), frame)
        for name in ("train", "valid", "test")
    }


def load_splits(config: RunConfig, *, preview: bool = False) -> tuple[Splits, RunConfig]:
    """Read or build the splits; fill tasks/inputs from a built-in dataset when not given.

    ``preview``: a streamed train's held-out validation and test rows are those among its
    first :data:`HEAD_ROWS` rows (``validate`` and ``export``'s parity sample read no more;
    training holds out from every row)."""
    d = config.data
    if d.sources:
        return _load_sources(config), config
    if d.dataset:
        from manyheads.builtin_datasets import load_dataset

        ds = load_dataset(d.dataset, **d.dataset_options)
        if not config.tasks:
            config = dataclasses.replace(config, tasks=ds.tasks)
        if config.inputs is None:
            config = dataclasses.replace(config, inputs=ds.inputs)
        return Splits(ds.train, ds.valid, ds.test), config
    assert d.train is not None
    if is_streamed(d):
        return _load_stream(d, preview=preview), config
    train = read_table(d.train)
    valid = read_table(d.valid) if d.valid else None
    test = read_table(d.test) if d.test else None
    if d.split_column:
        parts = _by_column(train, d.split_column)
        train = parts["train"]
        valid = valid if valid is not None else (parts["valid"] if len(parts["valid"]) else None)
        test = test if test is not None else (parts["test"] if len(parts["test"]) else None)
    if test is None and d.test_fraction > 0:
        train, test = split_frame(train, d.test_fraction, d.split_seed)
    if valid is None:
        train, valid = split_frame(train, d.valid_fraction, d.split_seed + 1)
    return Splits(train, valid, test), config


def is_streamed(data: DataConfig) -> bool:
    """True when ``data.train`` is streamed: ``data.stream`` true, or a directory by default."""
    if data.stream is not None or data.train is None:
        return bool(data.stream)
    return Path(data.train).is_dir()


def _load_stream(d: DataConfig, *, preview: bool = False) -> Splits:
    """A streamed train; validation/test from their files, else held out by row hash."""
    from manyheads.data.streaming import Holdout, StreamedTrain, open_stream, stream_options

    assert d.train is not None
    if d.split_column:
        raise DataError(
            "'data.split_column' is not used with a streamed train (data.stream): give "
            "'data.valid'/'data.test' files, or the fractions held out by row.",
            path=d.train,
        )
    options = stream_options(d.stream_options)
    if not d.valid and d.valid_fraction <= 0:
        raise DataError(
            "a streamed train needs validation rows: give a 'data.valid' file or a "
            "'data.valid_fraction' > 0 (held out by row).",
            path=d.train,
        )
    valid = read_table(d.valid) if d.valid else None
    test = read_table(d.test) if d.test else None
    fractions = (
        0.0 if valid is not None else d.valid_fraction,
        0.0 if test is not None else d.test_fraction,
    )
    holdout = Holdout(d.split_seed, *fractions) if any(fractions) else None
    stream, held_valid, held_test = open_stream(
        d.train, options=options, holdout=holdout, preview=HEAD_ROWS if preview else None
    )
    stream = StreamedTrain(stream.source, holdout, options, d.split_seed)
    valid = valid if valid is not None else held_valid
    assert valid is not None
    head = stream.source.head(HEAD_ROWS)
    return Splits(head, valid, test if test is not None else held_test, stream=stream)


def _load_sources(config: RunConfig) -> Splits:
    """Each source read and split on its own, its columns renamed, other tasks' labels removed."""
    label_columns = {t.name: set(t.label_columns) for t in config.tasks}
    sources = []
    for i, src in enumerate(config.data.sources):
        data = DataConfig(
            train=src.train,
            valid=src.valid,
            test=src.test,
            dataset=src.dataset,
            dataset_options=dict(src.dataset_options),
            valid_fraction=src.valid_fraction,
            test_fraction=src.test_fraction,
            split_seed=config.data.split_seed + 7919 * i,
        )
        splits, _ = load_splits(dataclasses.replace(config, data=data))
        foreign = set().union(
            *(cols for task, cols in label_columns.items() if task not in src.tasks)
        ) - set().union(*(label_columns[t] for t in src.tasks))
        frames = [
            None if f is None else _prepare_source(f, src.columns, foreign)
            for f in (splits.train, splits.valid, splits.test)
        ]
        train, valid, test = frames
        assert train is not None
        assert valid is not None
        sources.append(SourceSplits(str(src.name), src.tasks, train, valid, test))
    tests = [s.test for s in sources if s.test is not None]
    return Splits(
        train=_stack([s.train for s in sources], "train"),
        valid=_stack([s.valid for s in sources], "valid"),
        test=_stack(tests, "test") if tests else None,
        sources=tuple(sources),
    )


def _prepare_source(frame: pd.DataFrame, rename: dict[str, str], foreign: set[str]) -> pd.DataFrame:
    missing = [c for c in rename if c not in frame.columns]
    if missing:
        raise DataError(
            f"the column(s) {missing} named in the source's 'columns' renames are missing. "
            f"Columns present: {', '.join(map(str, frame.columns[:30]))}.",
            path=str(frame.attrs.get("path")),
        )
    out = frame.rename(columns=rename)
    out = out.drop(columns=[c for c in foreign if c in out.columns])
    out.attrs.update(frame.attrs)
    return out


def _stack(frames: list[pd.DataFrame], split: str) -> pd.DataFrame:
    stacked = pd.concat(frames, axis=0, ignore_index=False, sort=False)
    stacked.attrs["path"] = (
        f"<{split} of sources: " + ", ".join(str(f.attrs.get("path")) for f in frames) + ">"
    )
    return stacked
