"""The workflow layer: config -> builders -> training -> a saved run, its report and comparisons.

The building blocks (``data``, ``encoders``, ``architectures``, ``tasks``, ``weighting``,
``aggregation``, ``engine``) know nothing about runs; the modules here put them together:

- ``_fit``: ``fit`` / ``train_config`` / ``load``, the steps of one run;
- ``_run``: ``Run``, a trained model with its preprocessing, metrics and files;
- ``_bundle``: the saved model folder (safetensors + JSON), read back without pickles;
- ``_splits``: train/valid/test splitting with a recorded digest;
- ``_report``: the run and comparison reports;
- ``_compare``: single-task versus multi-task comparisons with Δm%;
- ``_analysis``: task-relation analysis (gradient conflict, affinity).

Every name is imported on first use (PEP 562), so importing one module does not load the rest.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from manyheads.workflow._fit import Run, fit, load, train_config

__all__ = ["Run", "fit", "load", "train_config"]

_LAZY = {
    "Run": "manyheads.workflow._fit",
    "fit": "manyheads.workflow._fit",
    "load": "manyheads.workflow._fit",
    "train_config": "manyheads.workflow._fit",
}


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'manyheads.workflow' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
