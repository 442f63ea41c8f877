"""The dataset registry and the :class:`DatasetSplits` every loader returns."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from manyheads._registry import Registry
from manyheads.errors import DataError
from manyheads.tasks.task import Task

__all__ = ["DATASETS", "DatasetSplits", "data_root", "list_datasets", "load_dataset"]


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


def _census(**options: Any) -> DatasetSplits:
    from manyheads.datasets._census import load_census_income

    return load_census_income(**options)


def _multi_mnist(**options: Any) -> DatasetSplits:
    from manyheads.datasets._multimnist import load_multi_mnist

    return load_multi_mnist(**options)


def _multi_fashion(**options: Any) -> DatasetSplits:
    from manyheads.datasets._multimnist import load_multi_fashion

    return load_multi_fashion(**options)


DATASETS: Registry[DatasetSplits] = Registry("dataset")
DATASETS.register(
    "census-income",
    _census,
    doc="UCI census-income (KDD), MMoE group 1: income>50K + never married "
    "(options: sample, group)",
)
DATASETS.register(
    "multi-mnist",
    _multi_mnist,
    doc="MultiMNIST (Sener & Koltun 2018): left + right digit of an overlaid pair "
    "(options: seed, n_train, n_test, interpolation)",
)
DATASETS.register(
    "multi-fashion",
    _multi_fashion,
    doc="MultiFashion: MultiMNIST's construction on Fashion-MNIST "
    "(options: seed, n_train, n_test, interpolation)",
)


def _fashion_loc(**options: Any) -> DatasetSplits:
    from manyheads.datasets._fashion_loc import load_fashion_loc

    return load_fashion_loc(**options)


DATASETS.register(
    "fashion-mnist-loc",
    _fashion_loc,
    doc="Fashion-MNIST localisation: class + box of one item on a cluttered 64 x 64 canvas "
    "(options: seed, n_train, n_test, n_clutter)",
)


def _clothing(**options: Any) -> DatasetSplits:
    from manyheads.datasets._reviews import load_clothing_reviews

    return load_clothing_reviews(**options)


def _sentences(**options: Any) -> DatasetSplits:
    from manyheads.datasets._reviews import load_sentiment_sentences

    return load_sentiment_sentences(**options)


DATASETS.register(
    "womens-clothing-reviews",
    _clothing,
    doc="clothing reviews (text): department 6-way + rating 5-way + recommended "
    "(options: title, limit)",
)
DATASETS.register(
    "sentiment-sentences",
    _sentences,
    doc="Kotzias et al. 2015 review sentences: sentiment + domain (amazon/imdb/yelp) "
    "(options: limit)",
)


def _uner(**options: Any) -> DatasetSplits:
    from manyheads.datasets._uner import load_uner_en_ewt

    return load_uner_en_ewt(**options)


DATASETS.register(
    "uner-en-ewt",
    _uner,
    doc="UD English-EWT + Universal NER: UPOS tagging + NER (BIO) per word (options: limit)",
)


def load_dataset(name: str, /, **options: Any) -> DatasetSplits:
    """Load the built-in dataset ``name``."""
    return DATASETS.create(name, **options)


def list_datasets() -> list[str]:
    """Names of the built-in datasets."""
    return DATASETS.names()
