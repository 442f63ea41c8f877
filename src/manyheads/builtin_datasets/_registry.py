"""The dataset registry and the :class:`DatasetSplits` every loader returns."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from manyheads._catalogue import DATASETS
from manyheads.errors import DataError, InvalidParameterError
from manyheads.tasks.task import Task

__all__ = [
    "DATASETS",
    "DatasetSplits",
    "data_root",
    "hold_out_valid",
    "list_datasets",
    "load_dataset",
]


@dataclass(frozen=True)
class DatasetSplits:
    """Train / validation / test frames plus the dataset's default tasks and inputs."""

    name: str
    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame | None
    tasks: tuple[Task, ...]
    inputs: dict[str, str]
    description: str = ""


def data_root(folder: str) -> Path:
    """``$MANYHEADS_DATA/<folder>``, or a clear error saying how to point at the data."""
    root = os.environ.get("MANYHEADS_DATA")
    if not root:
        raise DataError(
            f"the dataset folder '{folder}' is looked up under $MANYHEADS_DATA, which is not set. "
            "Set MANYHEADS_DATA to the folder that holds it (e.g. ../shared/data)."
        )
    path = Path(root) / folder
    if not path.is_dir():
        raise DataError(f"dataset folder not found under $MANYHEADS_DATA ({root}).", path=str(path))
    return path


def hold_out_valid(train: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(train, valid)``: a seeded 10% of ``train`` (at least one row) held out for validation.

    Both keep the rows' original order.

    Example:
        >>> train, valid = hold_out_valid(pd.DataFrame({"x": range(20)}), seed=4)
        >>> len(train), len(valid)
        (18, 2)
    """
    order = np.random.default_rng(seed).permutation(len(train))
    n_valid = max(1, len(train) // 10)
    valid = train.iloc[np.sort(order[-n_valid:])].copy()
    return train.iloc[np.sort(order[:-n_valid])].copy(), valid


def load_dataset(name: str, /, **options: object) -> DatasetSplits:
    """Load the built-in dataset ``name`` with its ``options`` (``data.dataset_options``).

    Raises:
        InvalidParameterError: an option the dataset does not have (the valid ones listed).

    Example:
        >>> load_dataset("census-income", smaple=True)
        Traceback (most recent call last):
        ...
        manyheads.errors.InvalidParameterError: The dataset 'census-income' has no option \
'smaple'. Did you mean 'sample'? Its options: sample, group.
    """
    import inspect

    from manyheads._registry import did_you_mean

    factory = DATASETS.get(name)
    valid = list(inspect.signature(factory).parameters)
    for key in options:
        if key not in valid:
            raise InvalidParameterError(
                f"The dataset '{name}' has no option {key!r}.{did_you_mean(key, valid)} "
                f"Its options: {', '.join(valid) or 'none'}."
            )
    return factory(**options)


def list_datasets() -> list[str]:
    """Names of the built-in datasets."""
    return DATASETS.names()
