"""manyheads: multi-task learning, one shared model with a head per task.

Example:
    >>> import manyheads as mh
    >>> "mmoe" in mh.list_architectures() or "hps" in mh.list_architectures()
    True
"""

__version__ = "0.1.0"

from manyheads._api import Run, fit, load, train_config
from manyheads.aggregation import Aggregator
from manyheads.architectures import MTLModel, create_model, list_architectures
from manyheads.config import RunConfig, load_config
from manyheads.data import EncodedTable, TablePreprocessor, read_table
from manyheads.datasets import list_datasets, load_dataset
from manyheads.errors import (
    ConfigError,
    DataError,
    DataWarning,
    InvalidParameterError,
    ManyheadsError,
    NotFittedError,
)
from manyheads.tasks import Task, list_task_types
from manyheads.weighting import Weighting, create_weighting, list_weightings

__all__ = [
    "Aggregator",
    "ConfigError",
    "DataError",
    "DataWarning",
    "EncodedTable",
    "InvalidParameterError",
    "MTLModel",
    "ManyheadsError",
    "NotFittedError",
    "Run",
    "RunConfig",
    "TablePreprocessor",
    "Task",
    "Weighting",
    "__version__",
    "create_model",
    "create_weighting",
    "fit",
    "list_architectures",
    "list_datasets",
    "list_task_types",
    "list_weightings",
    "load",
    "load_config",
    "load_dataset",
    "read_table",
    "train_config",
]
