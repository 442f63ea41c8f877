"""The workflow layer: config -> builders -> training -> a saved run, its report and comparisons.

The building blocks (``data``, ``encoders``, ``architectures``, ``tasks``, ``weighting``,
``aggregation``, ``engine``) know nothing about runs; the modules here put them together:

- ``_fit``: ``fit`` / ``train_config``, the steps of one run, top to bottom;
- ``_builders``: config -> preprocessor, model, balancing method, inputs (each decision once);
- ``_encoding``: fit the preprocessor and encode the splits (shared between runs);
- ``_output``: the run directory: which ``output`` a run may use, resume, writing the run;
- ``_events``: the run's event handlers (time estimate, task relations);
- ``_scores``: the final scores of a run (``RunMetrics``);
- ``_run``: ``Run`` and ``RunMetrics``, a trained model with its preprocessing, metrics, files;
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
