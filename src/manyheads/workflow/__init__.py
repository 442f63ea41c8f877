"""The workflow layer: config -> builders -> training -> a saved run, its report and comparisons.

The building blocks (``data``, ``encoders``, ``architectures``, ``tasks``, ``weighting``,
``aggregation``, ``engine``) know nothing about runs; the modules here put them together:

- ``_fit``: ``fit`` / ``train_config``, the steps of one run, top to bottom;
- ``_run_options``: how a run treats its folder (``RunOptions``), the ``TrainHook``;
- ``_training``: the training step of a run (events, resume, run directory, the loop);
- ``_builders``: config -> preprocessor, model, balancing method, inputs (each decision once);
- ``_encoding``: fit the preprocessor and encode the splits (shared between runs);
- ``_output``: the run directory: which ``output`` a run may use, resume, writing the run;
- ``_events``: the run's event handlers (time estimate, task relations);
- ``_scores``: the final scores of a run (``RunMetrics``);
- ``_run``: ``Run``, a trained model with its preprocessing, metrics, files, and ``load``;
- ``_run_metrics``: ``RunMetrics``, the final scores (``metrics.json``) written and read back;
- ``_rows``: the rows a user hands to a run (a DataFrame or a file path);
- ``_bundle``: the saved model folder (safetensors + JSON), read back without pickles;
- ``_splits``: train/valid/test splitting with a recorded digest;
- ``_report``: the run and comparison reports;
- ``_compare``: single-task versus multi-task comparisons with Δm%;
- ``_summary``: a comparison's rows (mean ± std over seeds, Δm% per row);
- ``_delta_m``: the Δm% formula, its weighted form and the task weights;
- ``_comparison``: ``Comparison``, its table and ``comparison.json``;
- ``_analysis``: task-relation analysis (gradient conflict, affinity).

Its public names (``fit``, ``train_config``, ``load``, ``Run``) are re-exported from
:mod:`manyheads`, which imports them on first use; this package imports nothing itself, so that a
torch-free caller (``manyheads validate`` reading a split) can import one module without the rest.
"""
