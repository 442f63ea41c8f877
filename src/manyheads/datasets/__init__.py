"""Built-in datasets (``manyheads ls datasets``), usable as ``data: {dataset: NAME}``."""

from manyheads.datasets._census import load_census_income
from manyheads.datasets._multimnist import load_multi_fashion, load_multi_mnist
from manyheads.datasets._registry import DATASETS, DatasetSplits, list_datasets, load_dataset

__all__ = [
    "DATASETS",
    "DatasetSplits",
    "list_datasets",
    "load_census_income",
    "load_dataset",
    "load_multi_fashion",
    "load_multi_mnist",
]
