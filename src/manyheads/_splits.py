"""Resolve a run's data into train / validation / test frames (files, dataset, or fractions)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from manyheads.config.schema import RunConfig
from manyheads.data.io import read_table
from manyheads.errors import DataError

__all__ = ["Splits", "load_splits", "split_frame"]


@dataclass(frozen=True)
class Splits:
    """The frames of one run; ``test`` may be absent."""

    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame | None


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


def load_splits(config: RunConfig) -> tuple[Splits, RunConfig]:
    """Read or build the splits; fill tasks/inputs from a built-in dataset when not given."""
    d = config.data
    if d.dataset:
        from manyheads.datasets import load_dataset

        ds = load_dataset(d.dataset, **d.dataset_options)
        if not config.tasks:
            config = dataclasses.replace(config, tasks=ds.tasks)
        if config.inputs is None:
            config = dataclasses.replace(config, inputs=ds.inputs)
        return Splits(ds.train, ds.valid, ds.test), config
    assert d.train is not None
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
