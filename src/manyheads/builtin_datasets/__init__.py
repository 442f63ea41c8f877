"""Built-in datasets (``manyheads ls datasets``), usable as ``data: {dataset: NAME}``."""

from manyheads.builtin_datasets._census import load_census_income
from manyheads.builtin_datasets._multimnist import load_multi_fashion, load_multi_mnist
from manyheads.builtin_datasets._registry import (
    DATASETS,
    DatasetSplits,
    list_datasets,
    load_dataset,
)

__all__ = [
    "DATASETS",
    "DatasetSplits",
    "list_datasets",
    "load_census_income",
    "load_dataset",
    "load_multi_fashion",
    "load_multi_mnist",
]
