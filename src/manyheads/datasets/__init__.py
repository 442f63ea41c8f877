"""Built-in datasets (``manyheads ls datasets``), usable as ``data: {dataset: NAME}``."""

from manyheads.datasets._census import load_census_income
from manyheads.datasets._registry import DATASETS, DatasetSplits, list_datasets, load_dataset

__all__ = ["DATASETS", "DatasetSplits", "list_datasets", "load_census_income", "load_dataset"]
