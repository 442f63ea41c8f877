"""manyheads: multi-task learning, one shared model with a head per task.

Example:
    >>> import manyheads as mh
    >>> "mmoe" in mh.list_architectures() or "hps" in mh.list_architectures()
    True
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below load on first use (PEP 562): `manyheads --help` needs no torch
    from manyheads._methods import METHODS, create_method, list_methods
    from manyheads.aggregation import Aggregator
    from manyheads.architectures import MTLModel, create_model, list_architectures
    from manyheads.builtin_datasets import list_datasets, load_dataset
    from manyheads.config import RunConfig, load_config
    from manyheads.data import EncodedTable, TablePreprocessor, read_table
    from manyheads.distill import distill
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
    from manyheads.workflow._fit import Run, fit, load, train_config

__all__ = [
    "METHODS",
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
    "create_method",
    "create_model",
    "create_weighting",
    "distill",
    "fit",
    "list_architectures",
    "list_datasets",
    "list_methods",
    "list_task_types",
    "list_weightings",
    "load",
    "load_config",
    "load_dataset",
    "read_table",
    "train_config",
]


#: Public name -> the module that defines it, imported on first access.
_LAZY: dict[str, str] = {
    "METHODS": "manyheads._methods",
    "Aggregator": "manyheads.aggregation",
    "ConfigError": "manyheads.errors",
    "DataError": "manyheads.errors",
    "DataWarning": "manyheads.errors",
    "EncodedTable": "manyheads.data",
    "InvalidParameterError": "manyheads.errors",
    "MTLModel": "manyheads.architectures",
    "ManyheadsError": "manyheads.errors",
    "NotFittedError": "manyheads.errors",
    "Run": "manyheads.workflow._fit",
    "RunConfig": "manyheads.config",
    "TablePreprocessor": "manyheads.data",
    "Task": "manyheads.tasks",
    "Weighting": "manyheads.weighting",
    "create_method": "manyheads._methods",
    "create_model": "manyheads.architectures",
    "create_weighting": "manyheads.weighting",
    "distill": "manyheads.distill",
    "fit": "manyheads.workflow._fit",
    "list_architectures": "manyheads.architectures",
    "list_datasets": "manyheads.builtin_datasets",
    "list_methods": "manyheads._methods",
    "list_task_types": "manyheads.tasks",
    "list_weightings": "manyheads.weighting",
    "load": "manyheads.workflow._fit",
    "load_config": "manyheads.config",
    "load_dataset": "manyheads.builtin_datasets",
    "read_table": "manyheads.data",
    "train_config": "manyheads.workflow._fit",
}


def __getattr__(name: str) -> Any:  # noqa: ANN401 - PEP 562: any public name
    """Import a public name from its module on first use and cache it (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'manyheads' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
